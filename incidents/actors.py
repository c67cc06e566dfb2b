"""Who did something: a mapped person, or the system itself."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    person_id: int | None
    name: str
    roles: tuple[str, ...] = field(default_factory=tuple)
    platform: str | None = None
    platform_user_id: str | None = None
    admin: bool = False  # the directory's admin flag (incidents.permissions.ADMIN_PERMISSIONS)
    language: str = "both"  # what answers to this actor are written in (Person.language, handlers.i18n)

    def has_any_role(self, roles: tuple[str, ...] | list[str]) -> bool:
        """True when the actor holds at least one of ``roles`` (an empty list means anyone)."""
        return not roles or any(role in self.roles for role in roles)


SYSTEM = Actor(person_id=None, name="WareRoom")
