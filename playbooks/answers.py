"""Check an answer against the typed input a step asks for."""

from __future__ import annotations

from playbooks.run_state import Answer, StepRejected
from playbooks.schema import ChoiceInput, Input, NumberInput, PhotoInput, TextInput, YesNoInput

YES = frozenset({"yes", "true", "y", "是"})
NO = frozenset({"no", "false", "n", "否"})


def check_answer(spec: Input | None, answer: Answer) -> Answer:
    """The answer in normal form (numbers as numbers, photos as a list); StepRejected if it does not fit."""
    if spec is None:
        return None
    if answer is None or answer in ("", []):
        if spec.required:
            raise StepRejected(f"请填写：{spec.label.zh}", f"an answer is required: {spec.label.en}")
        return None
    if isinstance(spec, NumberInput):
        return _number(spec, answer)
    if isinstance(spec, ChoiceInput):
        values = [option.value for option in spec.options]
        if answer not in values:
            raise StepRejected(f"请选择：{'、'.join(values)}", f"choose one of: {', '.join(values)}")
        return answer
    if isinstance(spec, YesNoInput):
        return _yes_no(answer)
    if isinstance(spec, TextInput):
        if not isinstance(answer, str) or not answer.strip():
            raise StepRejected(f"请填写文字：{spec.label.zh}", f"write a text answer: {spec.label.en}")
        return answer.strip()
    return _photos(spec, answer)


def _number(spec: NumberInput, answer: Answer) -> float | int:
    value: float | int
    if isinstance(answer, bool) or not isinstance(answer, int | float | str):
        raise StepRejected(f"{spec.label.zh} 必须是数字", f"{spec.label.en} must be a number")
    try:
        value = float(answer) if isinstance(answer, str) else answer
    except ValueError:
        raise StepRejected(f"{spec.label.zh} 必须是数字", f"{spec.label.en} must be a number") from None
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.min is not None and value < spec.min:
        raise StepRejected(
            f"{spec.label.zh} 不能小于 {spec.min:g}{unit}",
            f"{spec.label.en} must be at least {spec.min:g}{unit}",
        )
    if spec.max is not None and value > spec.max:
        raise StepRejected(
            f"{spec.label.zh} 不能大于 {spec.max:g}{unit}",
            f"{spec.label.en} must be at most {spec.max:g}{unit}",
        )
    return value


def _yes_no(answer: Answer) -> bool:
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str) and answer.strip().lower() in YES | NO:
        return answer.strip().lower() in YES
    raise StepRejected("请回答 是 或 否", "answer yes or no")


def _photos(spec: PhotoInput, answer: Answer) -> list[str]:
    photos = [answer] if isinstance(answer, str) else answer
    if not isinstance(photos, list) or not all(isinstance(p, str) and p for p in photos):
        raise StepRejected("请上传照片", "attach photos")
    if len(photos) < spec.min_count:
        raise StepRejected(f"至少需要 {spec.min_count} 张照片", f"at least {spec.min_count} photo(s) are needed")
    return list(photos)
