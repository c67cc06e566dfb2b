"""Safe `when`/`until` expressions over a run's answers and context, evaluated with simpleeval."""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Mapping
from typing import Any

from simpleeval import SimpleEval

NAMES = frozenset({"answers", "context"})
FUNCTIONS: dict[str, Callable[..., Any]] = {"len": len, "abs": abs, "min": min, "max": max}
CONSTANTS = frozenset({"True", "False", "None", "true", "false", "null"})


def expression_errors(expression: str, answer_names: Collection[str]) -> list[str]:
    """Why `expression` cannot run: syntax, unknown names, or answers no step asks for."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        return [f'"{expression}" is not a valid expression ({error.msg})']
    errors: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "answers" and node.attr not in answer_names:
                errors.append(f'"{expression}" uses answers.{node.attr}, but no step asks for "{node.attr}"')
        elif isinstance(node, ast.Name) and node.id not in NAMES | CONSTANTS | FUNCTIONS.keys():
            errors.append(f'"{expression}" uses "{node.id}"; only answers.<name> and context.<name> exist')
    return errors


def answer_names(expression: str) -> set[str]:
    """The names read as answers.<name> in `expression` (empty if it does not parse)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return set()
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "answers"
    }


def evaluate(expression: str, answers: Mapping[str, object], context: Mapping[str, object]) -> object:
    """The value of `expression`; raises an Exception when it cannot be computed."""
    names = {
        "answers": dict(answers),
        "context": dict(context),
        "true": True,
        "false": False,
        "null": None,
    }
    evaluator = SimpleEval(names=names, functions=FUNCTIONS)
    result: object = evaluator.eval(expression.strip())
    return result


def holds(expression: str, answers: Mapping[str, object], context: Mapping[str, object]) -> bool | None:
    """True or False, or None when the expression cannot be computed (e.g. an answer is missing)."""
    try:
        return bool(evaluate(expression, answers, context))
    except Exception:
        return None
