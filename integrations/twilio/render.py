"""TwiML for WareRoom's calls: the alert read in the person's language, "press 1", then the PIN.

Twilio ``<Gather>`` posts the pressed keys (``Digits``) to its ``action`` URL and speaks its nested ``<Say>``;
``<Say language=…>`` picks the voice (``zh-CN``, ``en-US``). Reference: Twilio TwiML ``<Gather>``, ``<Say>``.
"""

from twilio.twiml.voice_response import Gather, VoiceResponse

from handlers.ports import OutboundMessage

VOICES = {"zh": "zh-CN", "en": "en-US"}
PIN_MAX_DIGITS = 8
_TEXT = {
    "press_one": {"zh": "按 1 确认此告警。", "en": "Press 1 to acknowledge this alert."},
    "no_input": {"zh": "未收到按键，再见。", "en": "No key was pressed. Goodbye."},
    "ask_pin": {"zh": "请输入您的个人 PIN，以井号键结束。", "en": "Enter your personal PIN, then press the pound key."},
    "acked": {"zh": "已确认。谢谢，再见。", "en": "Acknowledged. Thank you, goodbye."},
    "refused": {"zh": "PIN 不正确，未确认。", "en": "The PIN is not correct. Nothing was acknowledged."},
    "locked": {"zh": "PIN 已锁定，请联系管理员。", "en": "Your PIN is locked. Ask an administrator."},
    "unknown": {"zh": "无法识别此通话，再见。", "en": "This call cannot be matched. Goodbye."},
    "not_now": {"zh": "此事件已不需要确认，再见。", "en": "This incident no longer needs acknowledging. Goodbye."},
}


def _say(node: VoiceResponse | Gather, key: str, language: str) -> None:
    lang = language if language in VOICES else "en"
    node.say(_TEXT[key][lang], language=VOICES[lang])


def spoken(message: OutboundMessage) -> str:
    """What the call reads: the title and body, without the fields (a call is short)."""
    return message.title + ("。" + message.body if message.body else "")


def alert_call(message: OutboundMessage, *, language: str, key_url: str) -> str:
    """The TwiML a call starts with: the alert twice at most, offering "press 1" (posted to ``key_url``)."""
    response = VoiceResponse()
    lang = language if language in VOICES else "en"
    gather = Gather(input="dtmf", num_digits=1, action=key_url, method="POST", timeout=8)
    gather.say(spoken(message), language=VOICES[lang])
    _say(gather, "press_one", lang)
    response.append(gather)
    _say(response, "no_input", lang)
    return str(response)


def ask_pin(*, language: str, pin_url: str) -> str:
    """After "1": ask for the PIN, ended by ``#``, posted to ``pin_url``."""
    response = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=PIN_MAX_DIGITS, finish_on_key="#", action=pin_url, method="POST",
                    timeout=10)
    _say(gather, "ask_pin", language)
    response.append(gather)
    _say(response, "no_input", language)
    return str(response)


def spoken_result(key: str, *, language: str) -> str:
    """A closing sentence (``acked``, ``refused``, ``locked``, ``unknown``, ``not_now``, ``no_input``) and hang up."""
    response = VoiceResponse()
    _say(response, key, language)
    response.hangup()
    return str(response)
