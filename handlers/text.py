"""User-facing text, Chinese first then English. Kept here, not scattered through code."""

from datetime import datetime
from zoneinfo import ZoneInfo

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
    "opened_msg": ("新事件，请{roles_zh}确认。", "New incident: {roles_en}, please acknowledge."),
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
        "/skip [步骤] 原因 跳过 · /resolve [编号] 解决 · /incident 预案 区域 手动发起（如 /incident fire D1）· "
        "/help 帮助",
        "Commands: /ack [id] acknowledge · /status [id] · /done [step] [answer] complete a step · /claim [step] · "
        "/skip [step] reason · /resolve [id] · /incident PLAYBOOK ZONE declare by hand (e.g. /incident fire D1) · "
        "/help",
    ),
    "unknown_command": ("未知命令「{name}」。输入 /help 查看可用命令。",
                        "Unknown command \"{name}\". Type /help for the list."),
    "continued": ("（续 {part}/{parts}）", "(continued {part}/{parts})"),
    "trimmed": ("……（内容过长已截断）", "… (too long, trimmed)"),
    "full_text": ("全文见 {url}", "Full text at {url}"),
    "bad_request": ("请求无法解析，已忽略。", "The request could not be read and was ignored."),
    "bad_signature": ("签名校验失败，请求被拒绝。", "The signature did not verify; the request was refused."),
}

ROLE_NAMES: dict[str, tuple[str, str]] = {
    "SL": ("班组长", "Shift lead"),
    "WM": ("仓库经理", "Warehouse manager"),
    "OD": ("运营总监", "Operations director"),
    "SO": ("安全主管", "Safety officer"),
    "FW": ("消防疏散引导员", "Fire warden"),
    "MT": ("设备维修", "Maintenance technician"),
    "QA": ("质量负责人", "QA manager"),
    "IC": ("库存管理员", "Inventory controller"),
    "CS": ("客服", "Customer service"),
    "TC": ("运输调度", "Transport coordinator"),
    "IT": ("WMS/IT 管理员", "WMS/IT administrator"),
    "SEC": ("安保", "Security"),
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
    zh, en = ROLE_NAMES.get(code, (code, code))
    return f"{zh} {en} ({code})"


def roles_text(codes: list[str], language: int) -> str:
    """Role names in one language (0 = zh, 1 = en), e.g. ``班组长 (SL)、质量负责人 (QA)``."""
    names = [f"{ROLE_NAMES.get(code, (code, code))[language]} ({code})" for code in codes]
    return ("、" if language == 0 else ", ").join(names)


def local_time(moment: datetime, timezone: str) -> str:
    """A UTC datetime shown in the site's timezone, e.g. ``11-25 21:03 CST``."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M %Z")
