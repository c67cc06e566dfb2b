"""Bilingual alert titles (zh first), from one table of templates."""

from incidents.readings import StockLevel
from incidents.rules.bindings import Binding
from incidents.rules.lifecycle import AlertState, Change
from incidents.rules.stock import StockRule
from incidents.units import unit_for, with_unit

# metric → (zh name, en name as it follows the place); units come from incidents.units
_METRICS: dict[str, tuple[str, str]] = {
    "temperature": ("温度", ""),
    "humidity": ("湿度", " humidity"),
    "voltage": ("电压", " voltage"),
    "power": ("功率", " power"),
    "current": ("电流", " current"),
}

# (rule type or "any", change, variant) → (zh, en)
TEMPLATES: dict[tuple[str, str, str], tuple[str, str]] = {
    ("threshold", "fired", "above"): (
        "{place_zh} {metric_zh} {value}，超过 {limit} 已 {minutes} 分钟",
        "{place_en}{metric_en} at {value}, above {limit} for {minutes} min",
    ),
    ("threshold", "fired", "below"): (
        "{place_zh} {metric_zh} {value}，低于 {limit} 已 {minutes} 分钟",
        "{place_en}{metric_en} at {value}, below {limit} for {minutes} min",
    ),
    ("threshold", "fired", "above-now"): (
        "{place_zh} {metric_zh} {value}，超过 {limit}",
        "{place_en}{metric_en} at {value}, above {limit}",
    ),
    ("threshold", "fired", "below-now"): (
        "{place_zh} {metric_zh} {value}，低于 {limit}",
        "{place_en}{metric_en} at {value}, below {limit}",
    ),
    ("threshold", "resolved", ""): (
        "{place_zh} {metric_zh}已恢复正常：{value}",
        "{place_en}{metric_en} back to normal at {value}",
    ),
    ("rate_of_change", "fired", ""): (
        "{place_zh} {metric_zh} 变化过快：每分钟 {rate}，当前 {value}",
        "{place_en}{metric_en} changing fast: {rate}/min, now {value}",
    ),
    ("rate_of_change", "resolved", ""): (
        "{place_zh} {metric_zh} 变化已趋缓：当前 {value}",
        "{place_en}{metric_en} steady again at {value}",
    ),
    ("time_to_breach", "fired", "above"): (
        "{place_zh} {metric_zh} {value}，预计约 {eta} 分钟后超过 {limit}",
        "{place_en}{metric_en} at {value}, passes {limit} in about {eta} min",
    ),
    ("time_to_breach", "fired", "below"): (
        "{place_zh} {metric_zh} {value}，预计约 {eta} 分钟后低于 {limit}",
        "{place_en}{metric_en} at {value}, drops below {limit} in about {eta} min",
    ),
    ("time_to_breach", "resolved", ""): (
        "{place_zh} {metric_zh} {value}，不再预计超限",
        "{place_en}{metric_en} at {value}, no longer heading past {limit}",
    ),
    ("offline", "fired", "heartbeat"): (
        "{device_zh} 离线：{minutes} 分钟无数据",
        "{device_en} offline: no reading for {minutes} min",
    ),
    ("offline", "fired", "lwt"): (
        "{device_zh} 离线：设备已断开连接",
        "{device_en} offline: device disconnected",
    ),
    ("offline", "fired", "absent"): (
        "{device_zh} 离线：已从网关的上报中消失",
        "{device_en} offline: missing from its gateway's report",
    ),
    ("offline", "resolved", ""): ("{device_zh} 已恢复在线", "{device_en} back online"),
    ("boolean", "fired", ""): ("{place_zh}：{rule_zh}（{device_zh}）", "{place_en}: {rule_en} ({device_en})"),
    ("boolean", "resolved", ""): (
        "{place_zh}：{rule_zh} 已解除（{device_zh}）",
        "{place_en}: {rule_en} cleared ({device_en})",
    ),
    ("stock_below", "fired", ""): (
        "{place_zh} {sku}（{location}）预计库存 {quantity:g}，低于{limit_name_zh} {limit}",
        "{place_en}: {sku} at {location} heading to {quantity:g}, below its {limit_name_en} of {limit}",
    ),
    ("stock_below", "resolved", ""): (
        "{place_zh} {sku}（{location}）库存已回到{limit_name_zh}以上：{quantity:g}",
        "{place_en}: {sku} at {location} back above its {limit_name_en}: {quantity:g}",
    ),
    ("count_variance", "fired", ""): (
        "{place_zh} {sku}（{location}）盘点差异 {quantity:+g}，超出允许的 ±{limit}",
        "{place_en}: {sku} at {location} counted {quantity:+g} off the book, beyond ±{limit}",
    ),
    ("count_variance", "resolved", ""): (
        "{place_zh} {sku}（{location}）复盘差异在允许范围内",
        "{place_en}: {sku} at {location} recount within tolerance",
    ),
    ("negative_stock", "fired", ""): (
        "{place_zh} {sku}（{location}）账面库存为负：{quantity:g}",
        "{place_en}: {sku} at {location} shows negative stock on the book: {quantity:g}",
    ),
    ("negative_stock", "resolved", ""): (
        "{place_zh} {sku}（{location}）账面库存已不为负：{quantity:g}",
        "{place_en}: {sku} at {location} no longer negative: {quantity:g}",
    ),
    # alerts about the monitoring itself (incidents.rules.system): ("system", rule id, variant)
    ("system", "gateway-offline", "fired"): (
        "网关 {gateway} 离线：其后 {count} 台设备无数据（{names}）",
        "Gateway {gateway} offline: {count} devices behind it report nothing ({names})",
    ),
    ("system", "gateway-offline", "resolved"): ("网关 {gateway} 已恢复在线", "Gateway {gateway} back online"),
    ("system", "intake-dead-man", "connection"): (
        "与 MQTT 代理的连接已断开 {minutes} 分钟：收不到任何传感器数据",
        "Connection to the MQTT broker lost for {minutes} min: no sensor data arrives",
    ),
    ("system", "intake-dead-man", "silence"): (
        "已 {minutes} 分钟未收到任何传感器读数",
        "No reading from any sensor for {minutes} min",
    ),
    ("system", "intake-dead-man", "resolved"): ("传感器数据已恢复", "Sensor data is arriving again"),
    ("system", "broker-dropped-messages", "fired"): (
        "MQTT 代理又丢弃了 {count} 条消息（累计 {total} 条），读数可能缺失",
        "The MQTT broker dropped {count} more messages ({total} in all): readings may be missing",
    ),
    ("system", "broker-dropped-messages", "since-start"): (
        "MQTT 代理自启动以来已丢弃 {total} 条消息，读数可能缺失",
        "The MQTT broker has dropped {total} messages since it started: readings may be missing",
    ),
    ("system", "calibration-due", "soon"): ("{device} 校准将于 {due} 到期", "{device} calibration due on {due}"),
    ("system", "calibration-due", "overdue"): (
        "{device} 校准已于 {due} 过期：其读数不能作为 GSP 记录",
        "{device} calibration ran out on {due}: its readings are not GSP evidence",
    ),
    ("any", "flapping", ""): (
        "{place_zh}：{rule_zh} 状态反复变化（{device_zh}），告警保持",
        "{place_en}: {rule_en} keeps changing state ({device_en}); alert held as flapping",
    ),
}


def render_titles(b: Binding, state: AlertState, change: Change, t: float) -> tuple[str, str]:
    """The (zh, en) titles for ``change`` of ``b`` at epoch seconds ``t``."""
    rule_type = "any" if change is Change.FLAPPING else b.rule.type
    zh, en = TEMPLATES[(rule_type, change.value, _variant(b, state, change, t))]
    metric = b.rule.match.metric or ""
    metric_zh, metric_en = _METRICS.get(metric, (metric, f" {metric}"))
    unit = unit_for(metric)
    fields = {
        "place_zh": b.zone.name_zh,
        "place_en": b.zone.name_en,
        "device_zh": b.device.name_zh or b.sensor,
        "device_en": b.device.name_en or b.sensor,
        "rule_zh": b.rule.title.zh,
        "rule_en": b.rule.title.en,
        "metric_zh": metric_zh,
        "metric_en": metric_en,
        "value": _quantity(state.value, metric),
        "limit": _quantity(b.limit, metric),
        "rate": f"{state.derived or 0.0:+.1f} {unit}".rstrip(),
        "eta": minutes(state.derived or 0.0),
        "minutes": minutes(t - _run_start(b, state, t)),
    }
    return zh.format(**fields), en.format(**fields)


# stock_below's ``below`` → (zh, en) name of the level
_STOCK_LEVELS = {"safety_stock": ("安全库存", "safety stock"), "reorder_point": ("再订货点", "reorder point")}


def render_stock_titles(
    rule: StockRule, level: StockLevel, change: Change, *, place: tuple[str, str], quantity: float, limit: float
) -> tuple[str, str]:
    """The (zh, en) titles for ``change`` of a stock rule at the zone ``place`` (zh, en names);
    ``quantity`` and ``limit`` are what ``stock_condition`` compared."""
    zh, en = TEMPLATES[(rule.type, change.value, "")]
    limit_zh, limit_en = _STOCK_LEVELS[getattr(rule, "below", "safety_stock")]
    fields = {"place_zh": place[0], "place_en": place[1], "sku": level.sku, "location": level.location,
              "quantity": quantity, "limit": f"{limit:g}", "limit_name_zh": limit_zh, "limit_name_en": limit_en}
    return zh.format(**fields), en.format(**fields)


def minutes(seconds: float) -> str:
    """Whole minutes, rounded, as text; ``<1`` under half a minute (never "for 0 min")."""
    whole = round(max(seconds, 0.0) / 60)
    return str(whole) if whole else "<1"


def _variant(b: Binding, state: AlertState, change: Change, t: float) -> str:
    if change is not Change.FIRED:
        return ""
    if b.rule.type == "offline":
        return state.cause or "heartbeat"
    if b.rule.type == "time_to_breach":
        return "above" if b.direction > 0 else "below"
    if b.rule.type == "threshold":
        side = "above" if b.direction > 0 else "below"
        return side if b.timing.for_s > 0 else f"{side}-now"
    return ""


def _run_start(b: Binding, state: AlertState, t: float) -> float:
    start = state.seen if b.rule.type == "offline" else state.since
    return t if start is None else start


def _quantity(value: float | None, metric: str) -> str:
    return "?" if value is None else with_unit(value, metric)
