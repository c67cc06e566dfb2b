"""Where each source publishes: Zigbee2MQTT base topics and Tasmota FullTopic patterns, as sites configure them.

Zigbee2MQTT: ``mqtt.base_topic`` (default ``zigbee2mqtt``); a site may run several instances with
several base topics, which may contain ``/``. Tasmota: ``FullTopic`` made of the tokens ``%prefix%``
(``cmnd``/``stat``/``tele``, Prefix1..3), ``%topic%``, ``%hostname%`` and ``%id%`` in any order,
default ``%prefix%/%topic%/`` (Tasmota docs, "MQTT topic definition"). A telemetry topic is the
FullTopic with ``%prefix%`` = the telemetry prefix, followed by ``SENSOR``, ``STATE``, ``LWT``…
(or, with ``SetOption89``, by a Zigbee device's address and then ``SENSOR``).
"""

from dataclasses import dataclass

TOKENS = ("%prefix%", "%topic%", "%hostname%", "%id%")
_NAME_TOKENS = ("%topic%", "%hostname%", "%id%")
PLAIN_PREFIX = "wareroom/sensors/"
BROKER_DROPPED = "$SYS/broker/publish/messages/dropped"


class LayoutError(ValueError):
    """A base topic or FullTopic pattern that cannot be used."""


@dataclass(frozen=True, slots=True)
class FullTopic:
    """One Tasmota FullTopic pattern split into its levels (without the trailing slash)."""

    pattern: str
    levels: tuple[str, ...]

    def match(self, parts: list[str], tele: str) -> tuple[str, list[str]] | None:
        """``(device topic, the levels after the FullTopic)`` when ``parts`` is a telemetry topic of this
        pattern, else None."""
        n = len(self.levels)
        if len(parts) <= n:
            return None
        device = ""
        for level, part in zip(self.levels, parts, strict=False):
            if level == "%prefix%":
                if part != tele:
                    return None
            elif level in _NAME_TOKENS:
                if not part:
                    return None
                device = device or part
            elif level != part:
                return None
        return device, parts[n:]

    def subscription(self, tele: str) -> str:
        """The MQTT filter that receives this pattern's telemetry: ``tele/+/#``."""
        return "/".join(tele if lv == "%prefix%" else "+" if lv in _NAME_TOKENS else lv for lv in self.levels) + "/#"


def full_topic(pattern: str) -> FullTopic:
    """Parse a FullTopic; LayoutError unless it has ``%prefix%`` and one of ``%topic%``/``%hostname%``/``%id%``."""
    levels = tuple(level for level in pattern.strip().strip("/").split("/"))
    if "%prefix%" not in levels:
        raise LayoutError(f'Tasmota FullTopic "{pattern}" has no %prefix%: telemetry cannot be told from commands')
    if not any(level in _NAME_TOKENS for level in levels):
        raise LayoutError(f'Tasmota FullTopic "{pattern}" has none of %topic%, %hostname%, %id%')
    for level in levels:
        if not level or "+" in level or "#" in level or ("%" in level and level not in TOKENS):
            raise LayoutError(f'Tasmota FullTopic "{pattern}" has a level "{level}" that is not a name or a token')
    return FullTopic(pattern, levels)


@dataclass(frozen=True, slots=True)
class TopicLayout:
    """Every place WareRoom reads sensors from."""

    zigbee2mqtt: tuple[str, ...] = ("zigbee2mqtt",)
    tasmota: tuple[FullTopic, ...] = (full_topic("%prefix%/%topic%/"),)
    tele_prefix: str = "tele"

    @classmethod
    def build(cls, zigbee2mqtt: list[str], tasmota: list[str], tele_prefix: str = "tele") -> "TopicLayout":
        """A layout from settings; LayoutError for an unusable base topic or pattern."""
        bases = tuple(base.strip().strip("/") for base in zigbee2mqtt)
        for base in bases:
            if not base or "+" in base or "#" in base:
                raise LayoutError(f'Zigbee2MQTT base topic "{base}" must be a topic without wildcards')
        # the longest first, so that "site/zigbee2mqtt" wins over "site"
        ordered = tuple(sorted(bases, key=lambda b: -len(b)))
        return cls(ordered, tuple(full_topic(p) for p in tasmota), tele_prefix)

    def subscriptions(self) -> list[str]:
        """The MQTT filters to subscribe to (without the stock topics)."""
        topics = [f"{base}/#" for base in self.zigbee2mqtt]
        topics += [pattern.subscription(self.tele_prefix) for pattern in self.tasmota]
        topics += [PLAIN_PREFIX + "#", BROKER_DROPPED]
        return list(dict.fromkeys(topics))
