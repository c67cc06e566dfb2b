"""User-facing text, Chinese first then English. Kept here, not scattered through code."""

from datetime import datetime
from zoneinfo import ZoneInfo

from playbooks.schema import ROLES

CATALOGUE: dict[str, tuple[str, str]] = {
    "status": ("状态", "Status"),
    "severity": ("级别", "Severity"),
    "zone": ("区域", "Zone"),
    "opened": ("开始", "Opened"),
    "acked_by": ("确认人", "Acknowledged by"),
    "cleared": ("读数已恢复", "Reading back in range"),
    "playbook": ("预案", "Playbook"),
    "step": ("步骤", "Step"),
    "role": ("负责角色", "Role"),
    "due": ("时限", "Due"),
    "btn_ack": ("确认", "Acknowledge"),
    "btn_confirm": ("确认执行", "Confirm"),
    "btn_claim": ("认领", "Claim"),
    "btn_skip": ("跳过", "Skip"),
    "action_confirm_title": ("待确认操作：{what}", "Needs confirmation: {what}"),
    "action_already": ("该操作已处理（{status}），不会重复执行。",
                       "This action was already handled ({status}); it will not run twice."),
    "action_role": ("只有{role}可以确认该操作。", "Only {role} may confirm this action."),
    "action_confirmed": ("{who} 已确认，正在执行。", "{who} confirmed; running it now."),
    "action_done": ("已执行：{what} {detail}", "Done: {what} {detail}"),
    "action_failed": ("执行失败：{what}（{error}）", "Failed: {what} ({error})"),
    "skip_needs_reason": ("跳过步骤需要原因：回复 /skip {step} 原因",
                          "Skipping needs a reason: reply /skip {step} <reason>"),
    "claimed_msg": ("{who} 认领了步骤「{step_zh}」。", "{who} claimed step \"{step_en}\"."),
    "skipped_msg": ("{who} 跳过了步骤「{step_zh}」：{reason}", "{who} skipped step \"{step_en}\": {reason}"),
    "declared_msg": ("{who} 手动发起事件。", "{who} declared this incident."),
    "no_playbook_alias": ("没有名为「{name}」的预案。可用：{known}", "There is no playbook \"{name}\". Known: {known}"),
    "input": ("需填写", "Answer"),
    "prompt_number": ("回复 /done 数值（{unit}{range_zh}）", "reply /done <number> ({unit}{range_en})"),
    "prompt_text": ("回复 /done 文字说明", "reply /done <text>"),
    "prompt_yes_no": ("回复 /done 是 或 /done 否", "reply /done yes or /done no"),
    "prompt_choice": ("点选一项，或回复 /done 选项", "pick an option, or reply /done <option>"),
    "prompt_photo": ("在本线程中发送照片（企业微信发给应用）", "send the photo in this thread (WeCom: to the app)"),
    "btn_done": ("完成", "Done"),
    "overdue": ("已超时", "Overdue"),
    "claimed_by": ("认领人", "Claimed by"),
    "why": ("依据", "Why this step"),
    "site_rule": ("本场所规定", "site rule"),
    "btn_resolve": ("解决", "Resolve"),
    "opened_msg": ("新事件：{title_zh}。请{roles_zh}确认。",
                   "New incident: {title_en}. {roles_en}, please acknowledge."),
    "raised_msg": ("告警升级为 {severity}：{title_zh}", "Raised to {severity}: {title_en}"),
    "acked_msg": ("{who} 已确认事件。", "{who} acknowledged the incident."),
    "resolved_msg": ("{who} 已将事件标记为解决。", "{who} resolved the incident."),
    "mitigating_msg": ("{who} 开始处置。", "{who} started mitigation."),
    "closed_msg": ("{who} 已关闭事件。", "{who} closed the incident."),
    "reopen_msg": ("{who} 重新打开了事件：{reason}", "{who} reopened the incident: {reason}"),
    "cleared_msg": ("读数已恢复正常（{value}）。事件仍需人工解决。",
                    "The reading is back in range ({value}). The incident still needs someone to resolve it."),
    "escalated_msg": ("{minutes} 分钟内无人确认，已升级至 {role}：{people}",
                      "Not acknowledged within {minutes} min: escalated to {role}: {people}"),
    "nobody": ("（该角色暂无人员）", "(nobody holds this role)"),
    "step_done_msg": ("{who} 完成了步骤「{step_zh}」。", "{who} completed step \"{step_en}\"."),
    "unknown_user": ("抱歉，您尚未在 WareRoom 人员目录中登记，无法执行此操作。请联系管理员。",
                     "Sorry, you are not in the WareRoom people directory, so this action is refused. "
                     "Please ask an administrator."),
    "duplicate": ("该操作已处理。", "This action was already processed."),
    "no_incident": ("请在事件的对话中使用此命令，或写明事件编号，例如 /ack 12。",
                    "Use this command in an incident thread or give the incident number, e.g. /ack 12."),
    "help": (
        "可用命令：/ack [编号] 确认 · /status [编号] 状态 · /done [步骤] [答案] 完成步骤 · /claim [步骤] 认领 · "
        "/skip [步骤] 原因 跳过 · /resolve [编号] 解决 · /close · /reopen [编号] 原因 · "
        "/incident 预案 区域 手动发起（如 /incident fire D1）· /stock 货号/条码/品名 查库存 · "
        "/review [编号] 复盘报告 · /silence 区域 时长 原因 静默告警 · /silences · /help 帮助",
        "Commands: /ack [id] acknowledge · /status [id] · /done [step] [answer] complete a step · /claim [step] · "
        "/skip [step] reason · /resolve [id] · /close · /reopen [id] reason · "
        "/incident PLAYBOOK ZONE declare by hand (e.g. /incident fire D1) · /stock SKU|barcode|name · "
        "/review [id] post-incident review · /silence ZONE DURATION REASON · /silences · /help",
    ),
    "unknown_command": ("未知命令「{name}」。输入 /help 查看可用命令。",
                        "Unknown command \"{name}\". Type /help for the list."),
    "continued": ("（续 {part}/{parts}）", "(continued {part}/{parts})"),
    "trimmed": ("……（内容过长已截断）", "… (too long, trimmed)"),
    "full_text": ("全文见 {url}", "Full text at {url}"),
    "bad_request": ("请求无法解析，已忽略。", "The request could not be read and was ignored."),
    "bad_signature": ("签名校验失败，请求被拒绝。", "The signature did not verify; the request was refused."),
    # -- identity: permissions, closing guards, signatures, chat links, sign-in (issue 9) ---------------
    "not_permitted": ("抱歉，您的角色（{roles}）不能{what_zh}。可以执行的角色：{allowed}。",
                      "Sorry, your roles ({roles}) do not allow you to {what_en}. Roles that may: {allowed}."),
    "perm_read": ("查看事件", "see incidents"),
    "perm_acknowledge": ("确认事件", "acknowledge incidents"),
    "perm_mitigate": ("开始处置", "start mitigation"),
    "perm_declare": ("手动发起事件", "declare incidents"),
    "perm_step": ("执行预案步骤", "act on playbook steps"),
    "perm_skip_step": ("跳过步骤", "skip steps"),
    "perm_resolve": ("解决事件", "resolve incidents"),
    "perm_close": ("关闭事件", "close incidents"),
    "perm_reopen": ("重新打开事件", "reopen incidents"),
    "perm_override": ("在步骤未完成时强制解决事件", "override unfinished steps"),
    "perm_confirm_actuation": ("确认设备操作", "confirm actuations"),
    "perm_silence": ("静默或搁置告警", "silence or shelve alerts"),
    "perm_change_severity": ("变更级别", "change severity"),
    "perm_export_review": ("导出复盘报告", "export reviews"),
    "perm_manage_people": ("管理人员、令牌和会话", "manage people, tokens and sessions"),
    "unknown_account": ("抱歉，此聊天账号尚未关联到 WareRoom 人员，操作已拒绝。请登录网页版，在「我的账号」获取关联码，"
                        "然后在此发送 /link 关联码。",
                        "Sorry, this chat account is not linked to a person in WareRoom, so the action is refused. "
                        "Sign in to the web app, get a link code under \"My account\" and send /link CODE here."),
    "link_usage": ("用法：/link 关联码（在网页版「我的账号」获取）", "Usage: /link CODE (get one under \"My account\" "
                   "in the web app)"),
    "link_done": ("已关联：此 {platform} 账号现在代表 {who}。", "Linked: this {platform} account now acts as {who}."),
    "link_bad_code": ("关联码无效、已使用或已过期。请在网页版重新获取。",
                      "That link code is wrong, used or expired. Get a new one in the web app."),
    "link_taken": ("此账号已关联到 {who}。如需更改，请管理员先解除原关联。",
                   "This account is already linked to {who}. An admin must remove that link first."),
    "link_not_here": ("网页版已通过登录确认您的身份，无需关联。",
                      "The web app knows you by your sign-in: nothing to link."),
    "acked_comment_msg": ("{who} 已确认事件：{reason}", "{who} acknowledged the incident: {reason}"),
    "steps_open": ("还有 {count} 个步骤未完成：{steps}。", "{count} step(s) are not finished: {steps}."),
    "close_blocked_required": ("以下步骤必须完成后事件才能{what_zh}，任何人都不能越过：{steps}。",
                               "These steps must be done before the incident can be {what_en}; nobody can "
                               "override them: {steps}."),
    "close_blocked": ("请先完成这些步骤；有权越过的角色（{allowed}）可回复 /{command} override 原因。",
                      "Finish them first; someone whose role may override ({allowed}) can reply "
                      "/{command} override <reason>."),
    "override_needs_reason": ("越过未完成步骤需要原因：/{command} override 原因",
                              "Overriding unfinished steps needs a reason: /{command} override <reason>"),
    "override_msg": ("⚠️ {who} 越过 {count} 个未完成步骤（{steps}）将事件标记为解决。原因：{reason}",
                     "⚠️ {who} overrode {count} unfinished step(s) ({steps}) to resolve the incident. "
                     "Reason: {reason}"),
    "skip_required": ("「{step_zh}」是结案必需步骤，不能跳过。", "\"{step_en}\" is required for closure and cannot be "
                      "skipped."),
    "needs_signature": ("此步骤需要电子签名（{meaning_zh}）。请在浏览器中打开：{url}",
                        "This needs an electronic signature ({meaning_en}). Open it in the browser: {url}"),
    "btn_sign": ("签名", "Sign"),
    "signed_msg": ("✍️ {who} 已电子签名「{meaning_zh}」：{reason}", "✍️ {who} signed \"{meaning_en}\": {reason}"),
    "signature_refused": ("身份验证失败，未签名，记录未改变。", "Re-authentication failed: nothing was signed or "
                          "changed."),
    "signature_needs_reason": ("签名需要填写原因。", "A signature needs a reason."),
    "signature_no_credential": ("您尚未设置密码或动态口令，无法电子签名。请在「我的账号」中设置。",
                                "You have no password or authenticator code set, so you cannot sign. Set one under "
                                "\"My account\"."),
    "action_own_request": ("此操作由您的步骤触发，需由另一位{role}确认（双人原则）。",
                           "Your own step asked for this action: another {role} must confirm it (four eyes)."),
    "action_signature_needed": ("确认此操作需要电子签名（{meaning_zh}）：{url}",
                                "Confirming this action needs an electronic signature ({meaning_en}): {url}"),
    "audit_altered_title": ("审计记录被篡改", "Audit trail altered"),
    "step_refused_audit": ("步骤操作被拒绝", "Step action refused"),
    # web pages: sign-in, account, signing, admin (integrations.webauth)
    "token_invalid": ("令牌无效、已撤销或已过期。", "The token is invalid, revoked or expired."),
    "csrf_refused": ("请求缺少有效的 CSRF 令牌，已拒绝，未做任何更改。请刷新页面后重试。",
                     "The request had no valid CSRF token and was refused; nothing changed. Reload the page "
                     "and try again."),
    "not_permitted_http": ("您没有「{permission}」权限，已记录。", "You lack the \"{permission}\" permission; "
                           "the attempt was recorded."),
    "signin_needed": ("需要登录（或有效的 API 令牌）。", "Sign-in (or a valid API token) is needed."),
    "session_expired": ("会话已过期，请重新登录。", "Your session has ended; please sign in again."),
    "scope_refused": ("此令牌没有「{scope}」权限范围。", "This token does not have the \"{scope}\" scope."),
    "signin_failed": ("用户名、密码或动态口令不正确，或账户已暂时锁定。", "Wrong user name, password or code, or the "
                      "account is locked for a while."),
    "signin_throttled": ("尝试次数过多，请一分钟后再试。", "Too many attempts; try again in a minute."),
    "signin_link_bad": ("登录链接无效、已使用或已过期。请向管理员重新索取。",
                        "This sign-in link is wrong, used or expired. Ask an admin for a new one."),
    "sso_refused": ("单点登录成功，但此身份未在 WareRoom 人员目录中登记，或未验证邮箱。请联系管理员。",
                    "Single sign-on worked, but that identity is not in the WareRoom directory or its email is "
                    "not verified. Please ask an admin."),
    "sso_failed": ("单点登录失败，请重试。", "Single sign-on failed; please try again."),
    "web_signin": ("登录", "Sign in"),
    "web_signout": ("退出", "Sign out"),
    "web_login": ("用户名", "User name"),
    "web_password": ("密码", "Password"),
    "web_totp": ("动态口令（如已启用）", "Authenticator code (if enabled)"),
    "web_sso": ("使用 {label} 登录", "Sign in with {label}"),
    "web_account": ("我的账号", "My account"),
    "web_admin": ("管理", "Admin"),
    "web_demo": ("演示模式：任何人都可以选择以谁的身份操作，记录不代表真实人员。正式使用请运行 wareroom serve。",
                 "Demo: anyone can pick who they act as, so the record proves nothing. Run wareroom serve for "
                 "real use."),
    "web_demo_signin": ("演示账号均可登录（用户名如 zhangmin，密码 {password}），用于试用电子签名。",
                        "Every demo person can sign in (user name e.g. zhangmin, password {password}) to try "
                        "electronic signatures."),
    "web_continue": ("继续", "Continue"),
    "web_save": ("保存", "Save"),
    "web_current_password": ("当前密码", "Current password"),
    "web_new_password": ("新密码（至少 10 个字符）", "New password (at least 10 characters)"),
    "web_password_saved": ("密码已保存。", "Password saved."),
    "web_password_wrong": ("当前密码不正确，未更改。", "The current password is wrong; nothing changed."),
    "web_totp_title": ("动态口令（双重验证）", "Authenticator (second factor)"),
    "web_totp_on": ("已启用。", "On."),
    "web_totp_start": ("启用动态口令", "Turn on an authenticator"),
    "web_totp_scan": ("在验证器应用中添加以下密钥，然后输入它显示的 6 位数字：",
                      "Add this key to your authenticator app, then type the 6 digits it shows:"),
    "web_totp_wrong": ("口令不正确，动态口令未启用。", "Wrong code: the authenticator is not on."),
    "web_totp_enabled": ("动态口令已启用。", "Authenticator turned on."),
    "web_link_title": ("关联聊天账号", "Link a chat account"),
    "web_link_how": ("在 Slack、Telegram 或企业微信中向 WareRoom 发送：/link {code}（{minutes} 分钟内有效，仅一次）",
                     "In Slack, Telegram or WeCom send WareRoom: /link {code} (valid {minutes} minutes, once)"),
    "web_link_get": ("获取关联码", "Get a link code"),
    "web_links": ("已关联的账号", "Linked accounts"),
    "web_tokens": ("API 令牌", "API tokens"),
    "web_token_name": ("名称", "Name"),
    "web_token_scopes": ("权限范围", "Scopes"),
    "web_token_days": ("有效天数（留空为不过期）", "Valid for days (empty: no expiry)"),
    "web_token_create": ("创建令牌", "Create token"),
    "web_token_once": ("请立即复制此令牌，它只显示这一次：", "Copy this token now; it is shown only this once:"),
    "web_revoke": ("撤销", "Revoke"),
    "web_remove": ("解除", "Remove"),
    "web_sessions": ("登录会话", "Sessions"),
    "web_end": ("结束", "End"),
    "web_roles": ("角色", "Roles"),
    "web_permissions": ("权限", "Permissions"),
    "web_people": ("人员", "People"),
    "web_person": ("人员", "Person"),
    "web_name_zh": ("中文名", "Chinese name"),
    "web_name_en": ("英文名", "English name"),
    "web_email": ("邮箱（单点登录）", "Email (single sign-on)"),
    "web_qualifications": ("资质（逗号分隔）", "Qualifications (comma-separated)"),
    "web_is_admin": ("管理员", "Administrator"),
    "web_active": ("在职", "Active"),
    "web_inactive": ("已停用", "Deactivated"),
    "web_add_person": ("添加人员", "Add a person"),
    "web_deactivate": ("停用", "Deactivate"),
    "web_reactivate": ("重新启用", "Reactivate"),
    "web_signin_link": ("生成一次性登录链接", "Make a one-time sign-in link"),
    "web_signin_link_made": ("一次性登录链接（24 小时内有效）：", "One-time sign-in link (valid 24 hours):"),
    "web_history": ("变更记录", "History"),
    "web_shifts": ("班次", "Shifts"),
    "web_shift_start": ("开始（站点时间）", "Start (site time)"),
    "web_shift_end": ("结束（站点时间）", "End (site time)"),
    "web_add_shift": ("添加班次", "Add shift"),
    "web_platform": ("平台", "Platform"),
    "web_user_id": ("平台用户 ID", "Platform user id"),
    "web_add_link": ("直接关联", "Link directly"),
    "web_saved": ("已保存。", "Saved."),
    "web_admin_only": ("仅管理员可以访问此页面，已记录。", "Only admins may open this page; the attempt was recorded."),
    "web_none": ("无", "None"),
    "web_sign_title": ("电子签名", "Electronic signature"),
    "web_sign_meaning": ("签名含义", "Meaning of this signature"),
    "web_sign_signer": ("签名人", "Signer"),
    "web_sign_record": ("所签记录", "Record being signed"),
    "web_sign_answer": ("结论", "Answer"),
    "web_sign_reason": ("原因 / 说明", "Reason"),
    "web_sign_legal": ("签名与手写签名具有同等效力，将与此记录永久绑定（21 CFR 11.50、11.70）。",
                       "This signature is the legally binding equivalent of your handwritten signature and is "
                       "permanently linked to this record (21 CFR 11.50, 11.70)."),
    "web_sign_button": ("签名", "Sign"),
    "web_signed": ("已签名，记录已更新。", "Signed; the record is updated."),
    "web_sign_gone": ("此步骤或操作当前无法签名（已完成或不存在）。", "This step or action cannot be signed now "
                      "(finished or unknown)."),
    "web_back": ("返回事件", "Back to the incidents"),
    "web_user_refused": ("已登录时不能指定以他人身份操作，请求已拒绝并记录。",
                         "A signed-in page cannot name someone else to act as; refused and recorded."),
    # /stock (handlers.stock)
    "stock_usage": ("用法：/stock SKU、条码或品名，例如 /stock SKU-D0101 或 查库存 胰岛素",
                    "Usage: /stock SKU, barcode or name, e.g. /stock SKU-D0101 or /stock insulin"),
    "stock_not_found": ("没有找到「{query}」。", "Nothing found for \"{query}\"."),
    "stock_several": ("有 {count} 个商品名称包含「{query}」，请写出货号或扫码：",
                      "{count} items have \"{query}\" in their name; give the SKU or scan the barcode:"),
    "stock_suggest": ("您是不是要找：", "Did you mean:"),
    "stock_other_matches": ("其他相近：", "Other close matches:"),
    "available": ("可用", "Available"),
    "on_hand": ("在库", "On hand"),
    "reserved": ("预占", "Reserved"),
    "hold": ("冻结", "Hold"),
    "rop": ("补货点", "ROP"),
    "safety_stock": ("安全库存", "SS"),
    "max_qty": ("上限", "Max"),
    "reorder_qty": ("补货量", "Reorder qty"),
    "picks_per_day": ("日均出库", "Picks/day"),
    "days_of_cover": ("可供天数", "Days of cover"),
    "location": ("库位", "Location"),
    "lot": ("批号", "Lot"),
    "expiry": ("效期", "Expiry"),
    "qty": ("数量", "Qty"),
    "last_move": ("最近移动", "Last move"),
    "last_count": ("最近盘点", "Last count"),
    "variance": ("差异", "variance"),
    "open_incidents": ("相关事件", "Open incidents"),
    "as_of": ("数据时间", "As of"),
    "stock_source": ("WareRoom 库存库", "WareRoom stock database"),
    "lot_tracked": ("批次管理", "lot-tracked"),
    "expired": ("已过期", "expired"),
    "expiring": ("近效期", "expiring"),
    "stock_OUT": ("缺货", "OUT"),
    "stock_CRITICAL": ("低于安全库存", "CRITICAL"),
    "stock_LOW": ("低于补货点", "LOW"),
    "stock_OK": ("正常", "OK"),
    "stock_OVER": ("超上限", "OVER"),
    "stock_NO_RULE": ("无补货规则", "no reorder rule"),
    "quant_available": ("可用", "OK"),
    "quant_hold": ("冻结", "HOLD"),
    "quant_quarantine": ("待验隔离", "QUARANTINE"),
    "quant_damaged": ("破损", "DAMAGED"),
    "storage_ambient": ("常温", "ambient"),
    "storage_cool_le20": ("阴凉", "≤20 °C cool"),
    "storage_cold_2_8": ("冷藏", "2–8 °C"),
    "storage_chill_0_4": ("冷鲜", "0–4 °C chilled"),
    "storage_frozen_m25_m15": ("冷冻", "−25~−15 °C frozen"),
    "move_receipt": ("收货", "receipt"),
    "move_return": ("退货", "return"),
    "move_pick": ("拣货", "pick"),
    "move_ship": ("发运", "ship"),
    "move_scrap": ("报废", "scrap"),
    "move_transfer": ("移库", "transfer"),
    "move_quarantine": ("隔离", "quarantine"),
    "move_release": ("放行", "release"),
    "move_count_adjust": ("盘点调整", "count adjustment"),
    "move_reserve": ("预占", "reserve"),
    "move_unreserve": ("释放预占", "unreserve"),
    # /review (handlers.review)
    "review_links": ("事件 #{incident_id} 的复盘报告（网页、签章 PDF/A、Markdown、JSON、CSV）：",
                     "Post-incident review of #{incident_id} (web page, sealed PDF/A, Markdown, JSON, CSV):"),
    "review_usage": ("请在事件的对话中使用 /review，或写明事件编号，例如 /review 12。",
                     "Use /review in an incident thread or give the incident number, e.g. /review 12."),
    # review: incident, step and stock statuses in words
    "status_triggered": ("待确认", "Triggered"),
    "status_acknowledged": ("已确认", "Acknowledged"),
    "status_mitigating": ("处置中", "Mitigating"),
    "status_resolved": ("已解决", "Resolved"),
    "status_in_review": ("复盘中", "In review"),
    "status_closed": ("已关闭", "Closed"),
    "step_pending": ("待开始", "Pending"),
    "step_active": ("进行中", "In progress"),
    "step_done": ("已完成", "Done"),
    "step_skipped": ("已跳过", "Skipped"),
    "step_overdue": ("已超时", "Overdue"),
    "step_open_at_resolution": ("事件解决时未完成", "Still open when the incident was resolved"),
    "stock_status_available": ("可用", "Available"),
    "stock_status_hold": ("冻结", "On hold"),
    "stock_status_quarantine": ("隔离待验", "Quarantined"),
    "stock_status_damaged": ("破损", "Damaged"),
    "stock_status_expired": ("已过期", "Expired"),
    "timer_ack": ("认领", "claim"),
    "timer_complete": ("完成", "completion"),
    "timer_repeat": ("重复", "repeat"),
    "timer_reminder": ("提醒", "reminder"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "photos": ("{count} 张照片", "{count} photo(s)"),
    "metric_temperature": ("温度", "Temperature"),
    "time": ("时间", "Time"),
    "limit_upper": ("上限", "upper limit"),
    "limit_lower": ("下限", "lower limit"),
    "limit_alarm": ("告警阈值", "alarm threshold"),
    "metric_humidity": ("湿度", "Humidity"),
    "calibration_ok": ("有效期至 {due}", "valid until {due}"),
    "calibration_overdue": ("已过期（{due}），读数不能作为证据", "overdue since {due}: readings are not evidence"),
    "calibration_unknown": ("未记录", "not recorded"),
    # review: the timeline in plain words (who is in its own column)
    "tl_opened_above": ("事件开启：{sensor_zh}读数 {value}，高于上限 {limit}。",
                        "Incident opened: {sensor_en} read {value}, above the {limit} limit."),
    "tl_opened_below": ("事件开启：{sensor_zh}读数 {value}，低于下限 {limit}。",
                        "Incident opened: {sensor_en} read {value}, below the {limit} limit."),
    "tl_opened": ("事件开启：{title_zh}（{severity}）。", "Incident opened: {title_en} ({severity})."),
    "tl_declared": ("手动发起事件（{playbook}，区域 {zone}）。",
                    "Incident declared by hand ({playbook}, zone {zone})."),
    "tl_joined": ("又一条告警并入：{sensor_zh}读数 {value}。", "Another alert joined: {sensor_en} read {value}."),
    "tl_joined_plain": ("又一条告警并入。", "Another alert joined."),
    "tl_warning": ("预警：{sensor_zh}读数 {value}，正趋向限值。",
                   "Warning: {sensor_en} read {value}, heading for its limit."),
    "tl_cleared": ("读数恢复到范围内：{sensor_zh} {value}。", "Reading back in range: {sensor_en} at {value}."),
    "tl_cleared_plain": ("告警恢复。", "The alert cleared."),
    "tl_escalated": ("无人确认，第 {level} 级升级：通知{role_zh}。",
                     "Not acknowledged: escalation level {level}, {role_en} paged."),
    "tl_status": ("事件状态由「{before_zh}」改为「{after_zh}」。",
                  "Incident status changed from {before_en} to {after_en}."),
    "tl_severity": ("级别由 {before} 调整为 {after}。", "Severity changed from {before} to {after}."),
    "tl_playbook": ("启动预案「{title_zh}」第 {version} 版。", "Playbook \"{title_en}\" version {version} started."),
    "tl_step_active": ("步骤开始：「{step_zh}」。", "Step started: \"{step_en}\"."),
    "tl_step_claimed": ("认领步骤「{step_zh}」。", "Claimed \"{step_en}\"."),
    "tl_step_done": ("完成步骤「{step_zh}」。", "Completed \"{step_en}\"."),
    "tl_step_answered": ("完成步骤「{step_zh}」：{label_zh} {answer_zh}。",
                         "Completed \"{step_en}\": {label_en} {answer_en}."),
    "tl_step_skipped": ("跳过步骤「{step_zh}」。", "Skipped \"{step_en}\"."),
    "tl_step_status": ("步骤「{step_zh}」：{status_zh}。", "Step \"{step_en}\": {status_en}."),
    "tl_step_timer": ("步骤「{step_zh}」的{kind_zh}时限已到。", "Step \"{step_en}\": {kind_en} time limit reached."),
    "tl_action_requested": ("预案自动动作待执行：{what}。", "Playbook action queued: {what}."),
    "tl_action_confirmed": ("确认执行自动动作。", "Confirmed the playbook action."),
    "tl_action_executed": ("自动动作已执行。", "The playbook action ran."),
    "tl_action_failed": ("自动动作失败：{error}", "The playbook action failed: {error}"),
    "tl_access_refused": ("拒绝了未登记用户的操作。", "Refused an action by someone not in the directory."),
    "tl_flapping": ("告警反复变化，暂停逐次通知。", "The alert was flapping; messages per change were paused."),
    "tl_inhibited": ("本事件引起的下游告警暂不单独通知（{scope}）。",
                     "Alerts this incident causes were muted ({scope})."),
    # review: the summary paragraph, one sentence per fact that is known
    "sum_opened": ("{opened}，{zone_zh} 开启 {severity} 事件「{title_zh}」。",
                   "At {opened}, a {severity} incident opened in {zone_en}: {title_en}."),
    "sum_excursion": ("{probe_zh}自 {start} 起高于上限 {limit}，峰值 {peak}（{peak_at}），超限共 {duration}，"
                      "超限累计 {degree_minutes}。",
                      "{probe_en} was above the {limit} limit from {start}, peaking at {peak} at {peak_at}: "
                      "{duration} above it, {degree_minutes} in total."),
    "sum_excursion_below": ("{probe_zh}自 {start} 起低于下限 {limit}，最低 {low}（{low_at}），超限共 {duration}。",
                            "{probe_en} was below the {limit} limit from {start}, down to {low} at {low_at}: "
                            "{duration} below it."),
    "sum_in_range": ("区域内探头读数未超出限值（最高 {peak}）。",
                     "The zone's probes stayed within their limits (highest {peak})."),
    "sum_cause": ("预案中选定的原因：{cause_zh}。", "Cause chosen in the playbook: {cause_en}."),
    "sum_no_cause": ("预案中未记录原因。", "No cause was recorded in the playbook."),
    "sum_actions": ("已完成：{steps_zh}。", "Actions taken: {steps_en}."),
    "sum_no_actions": ("没有完成任何步骤。", "No step was completed."),
    "sum_skipped": ("已跳过：{steps_zh}。", "Skipped: {steps_en}."),
    "sum_disposition": ("产品处置：{disposition_zh}。", "Product disposition: {disposition_en}."),
    "sum_no_disposition": ("尚未记录产品处置决定。", "No product disposition has been recorded."),
    "sum_acked": ("{who} 于 {at} 确认", "Acknowledged by {who} at {at}"),
    "sum_not_acked": ("无人确认", "Nobody acknowledged it"),
    "sum_resolved": ("{who} 于 {at} 解决", "resolved by {who} at {at}"),
    "sum_not_resolved": ("尚未解决", "not resolved yet"),
    "sum_signed": ("{who} 已签署", "signed by {who}"),
    "sum_not_signed": ("尚无人签署", "not signed by anyone yet"),
    "sum_people": ("{acked}，{resolved}；{signed}。", "{acked}, {resolved}; {signed}."),
    # scripts/demo.sh and `wareroom demo`: what is about to happen
    "demo_notice": ("演示：几秒后冷库 D1 的压缩机开始故障，门侧探头升温；启动约 20 秒后开启第一个事件（SEV2），"
                    "无人确认则 90 秒后升级，约 2.5 分钟后修复、读数回到范围内。右上角选择身份（如王伟 班组长），"
                    "点“确认”并按步骤处置；在事件中输入 /review 查看复盘报告。",
                    "Demo: in a few seconds the compressor of cold room D1 starts failing and its door-side probe "
                    "warms; the first incident (SEV2) opens about 20 s after start, escalates after 90 s if nobody "
                    "acknowledges, and the room is repaired and back in range after about 2.5 min. Pick who you are "
                    "at the top right (e.g. Wang Wei, shift lead), press Acknowledge and work through the steps; "
                    "type /review in the incident to see its post-incident review."),
    "action_incident.opened": ("事件开启", "Incident opened"),
    "action_incident.declared": ("人工发起事件", "Incident declared by hand"),
    "action_incident.acknowledge": ("确认事件", "Acknowledged"),
    "action_incident.mitigate": ("开始处置", "Mitigation started"),
    "action_incident.resolve": ("事件解决", "Resolved"),
    "action_incident.close": ("事件关闭", "Closed"),
    "action_incident.reopen": ("重新打开", "Reopened"),
    "action_incident.escalated": ("升级通知", "Escalated"),
    "action_incident.severity_changed": ("级别变更", "Severity changed"),
    "action_alert.joined": ("新告警并入", "Alert joined"),
    "action_alert.cleared": ("告警恢复", "Alert cleared"),
    "action_playbook.started": ("预案启动", "Playbook started"),
    "action_step.active": ("步骤开始", "Step started"),
    "action_step.claimed": ("步骤认领", "Step claimed"),
    "action_step.done": ("步骤完成", "Step done"),
    "action_step.skipped": ("步骤跳过", "Step skipped"),
    "action_action.requested": ("自动动作请求", "Automatic action requested"),
    "action_action.confirmed": ("自动动作完成", "Automatic action confirmed"),
    "action_action.failed": ("自动动作失败", "Automatic action failed"),
    "action_access.refused": ("拒绝无权操作", "Refused: not permitted"),
    "action_incident.override": ("越过未完成步骤", "Override of unfinished steps"),
    "action_signature.signed": ("电子签名", "Electronic signature"),
    "action_signature.refused": ("签名被拒绝", "Signature refused"),
    "action_step.refused": ("步骤操作被拒绝", "Step action refused"),
    "action_incident.refused": ("操作被拒绝", "Refused"),
    "milestone_opened": ("开启", "Opened"),
    "milestone_acknowledged": ("确认", "Acknowledged"),
    "milestone_mitigating": ("处置", "Mitigating"),
    "milestone_cleared": ("读数恢复", "Back in range"),
    "milestone_resolved": ("解决", "Resolved"),
    "grouped_msg": ("本组共 {count} 条告警：{names}", "{count} alerts in this group: {names}"),
    "group_joined_msg": ("本组新增 {count} 条告警：{names}", "{count} more alerts in this group: {names}"),
    "group_truncated_msg": ("（另有 {count} 条告警被发送方省略）", "({count} more alerts were left out by the sender)"),
    "group_resolved_msg": ("本组 {count} 条告警已解除：{names}", "{count} alerts of this group resolved: {names}"),
    "group_all_clear_msg": ("本组告警已全部解除。事件仍需人工解决。",
                            "Every alert of the group has resolved. The incident still needs someone to resolve it."),
    "inhibiting_msg": ("本事件期间，{scope} 内由它引起的告警（{targets}）暂不单独通知；"
                       "事件解除后仍在触发的告警会再通知。",
                       "While this lasts, the alerts it causes in {scope} ({targets}) are muted; any still firing "
                       "when it clears will be raised then."),
    "flapping_msg": ("告警反复变化：{title_zh}。在稳定之前告警保持触发，不再逐次通知。",
                     "Flapping: {title_en}. The alert stays firing, without a message per change, until it settles."),
    "silence_usage": ("用法：/silence 区域或设备 时长 原因，例如 /silence D1 30m 除霜",
                      "Usage: /silence <zone or device> <duration> <reason>, e.g. /silence D1 30m defrost"),
    "silence_unknown_target": ("未知的站点、区域、设备或规则「{target}」。",
                               "Unknown site, zone, device or rule \"{target}\"."),
    "silence_bad_duration": ("「{value}」不是有效时长，请写成 30m、2h 等（最长 7 天）。",
                             "\"{value}\" is not a valid duration; write it like 30m or 2h (at most 7 days)."),
    "silenced_msg": ("{who} 已静默 {target} 至 {until}（#{id}）：{reason}。紧急（SEV1）告警不受静默影响。",
                     "{who} silenced {target} until {until} (#{id}): {reason}. Life-safety (SEV1) alerts still sound."),
    "silences_none": ("当前没有生效中的静默。", "No silences in force."),
    "silences_title": ("生效中的静默：", "Silences in force:"),
    "unsilence_usage": ("用法：/unsilence 编号，例如 /unsilence 3", "Usage: /unsilence <id>, e.g. /unsilence 3"),
    "unsilenced_msg": ("{who} 已取消静默 #{id}（{target}）。", "{who} ended silence #{id} ({target})."),
    "silence_not_found": ("没有生效中的静默 #{id}。", "There is no silence #{id} in force."),
    # photos
    "photo_needed": ("步骤「{step_zh}」需要照片：请在事件线程中直接发送照片（文字或链接不能代替照片）。",
                     "Step \"{step_en}\" needs a photo: send the picture itself in the incident thread "
                     "(text or a link does not count)."),
    "photo_not_asked": ("步骤「{step_zh}」不需要照片，照片未记录。",
                        "Step \"{step_en}\" does not ask for a photo; the picture was not recorded."),
    "photo_no_step": ("当前没有需要照片的步骤，照片未记录。",
                      "No current step asks for a photo; the picture was not recorded."),
    "photo_not_image": ("该文件不是可识别的图片（{kind}），未记录。请发送 JPEG、PNG 或 WebP 照片。",
                        "That file is not a picture we can read ({kind}); nothing was recorded. "
                        "Send a JPEG, PNG or WebP photo."),
    "photo_too_large": ("照片过大（{size_mb} MB，上限 {limit_mb} MB），未记录。请发送较小的照片。",
                        "The photo is too large ({size_mb} MB, limit {limit_mb} MB); nothing was recorded. "
                        "Send a smaller one."),
    "photo_too_many_pixels": ("图片像素过多（上限 {limit} 像素），未记录。",
                              "The image has too many pixels (limit {limit}); nothing was recorded."),
    "photo_download_failed": ("无法从聊天平台下载照片，未记录，步骤仍未完成。请重新发送。",
                              "The photo could not be downloaded from the chat platform; nothing was recorded and "
                              "the step is still open. Please send it again."),
    "photo_store_failed": ("照片暂时无法保存，未记录，步骤仍未完成。请稍后重新发送。",
                           "The photo could not be stored just now; nothing was recorded and the step is still "
                           "open. Please send it again in a moment."),
    "evidence_not_found": ("没有这张照片证据。", "There is no such photo evidence."),
    "btn_photo": ("📷 拍照", "Photo"),
    "photo_how": ("请直接在本事件线程中发送照片（企业微信：发给应用），照片会作为该步骤的证据。",
                  "Send the photo itself in this incident's thread (on WeCom, to the app); it becomes the "
                  "step's evidence."),
    "photo_off": ("本系统未启用照片证据。", "Photo evidence is not set up here."),
    "photo_saved": ("照片已存档（sha256 {short}…）：{url}", "Photo kept as evidence (sha256 {short}…): {url}"),
    "action_evidence.stored": ("照片证据已存档", "photo evidence stored"),
    "action_evidence.refused": ("照片被拒收", "photo refused"),
}



def label(key: str) -> str:
    """A short bilingual label: ``状态 Status``."""
    zh, en = CATALOGUE[key]
    return f"{zh} {en}"


def say(key: str, **values: object) -> str:
    """A bilingual sentence, Chinese line first, English line second."""
    zh, en = CATALOGUE[key]
    return f"{zh.format(**values)}\n{en.format(**values)}"


def pair(key: str, **values: object) -> tuple[str, str]:
    """The sentence in each language apart: ``(zh, en)``, for documents that show one language or both."""
    zh, en = CATALOGUE[key]
    return zh.format(**values), en.format(**values)


def role_name(code: str) -> str:
    """``仓库经理 Warehouse manager (WM)``; unknown codes are shown as they are."""
    zh, en = ROLES.get(code, (code, code))
    return f"{zh} {en} ({code})"


def roles_text(codes: list[str], language: int) -> str:
    """Role names in one language (0 = zh, 1 = en), e.g. ``班组长 (SL)、质量负责人 (QA)``."""
    names = [f"{ROLES.get(code, (code, code))[language]} ({code})" for code in codes]
    return ("、" if language == 0 else ", ").join(names)


def duration_text(seconds: float | None) -> str:
    """``1 h 05 min``, ``4 min 30 s``, ``13 min``, ``12 s``; ``-`` for nothing. The same in Chinese and English."""
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


def local_time(moment: datetime, timezone: str) -> str:
    """A UTC datetime shown in the site's timezone, e.g. ``11-25 21:03 CST``."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M %Z")
