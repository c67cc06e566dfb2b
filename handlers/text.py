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
    "prompt_photo": ("回复 /done 照片链接", "reply /done <photo link>"),
    "btn_done": ("完成", "Done"),
    "overdue": ("已超时", "Overdue"),
    "claimed_by": ("认领人", "Claimed by"),
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
    "review_link": ("事件 #{incident_id} 的复盘报告：{url}", "Post-incident review of #{incident_id}: {url}"),
    "review_usage": ("请在事件的对话中使用 /review，或写明事件编号，例如 /review 12。",
                     "Use /review in an incident thread or give the incident number, e.g. /review 12."),
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
    "action_access.refused": ("拒绝未登记用户", "Unknown user refused"),
    "milestone_opened": ("开启", "Opened"),
    "milestone_acknowledged": ("确认", "Acknowledged"),
    "milestone_mitigating": ("处置", "Mitigating"),
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
}



def label(key: str) -> str:
    """A short bilingual label: ``状态 Status``."""
    zh, en = CATALOGUE[key]
    return f"{zh} {en}"


def say(key: str, **values: object) -> str:
    """A bilingual sentence, Chinese line first, English line second."""
    zh, en = CATALOGUE[key]
    return f"{zh.format(**values)}\n{en.format(**values)}"


def role_name(code: str) -> str:
    """``仓库经理 Warehouse manager (WM)``; unknown codes are shown as they are."""
    zh, en = ROLES.get(code, (code, code))
    return f"{zh} {en} ({code})"


def roles_text(codes: list[str], language: int) -> str:
    """Role names in one language (0 = zh, 1 = en), e.g. ``班组长 (SL)、质量负责人 (QA)``."""
    names = [f"{ROLES.get(code, (code, code))[language]} ({code})" for code in codes]
    return ("、" if language == 0 else ", ").join(names)


def local_time(moment: datetime, timezone: str) -> str:
    """A UTC datetime shown in the site's timezone, e.g. ``11-25 21:03 CST``."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M %Z")
