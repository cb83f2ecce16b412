"""A trial's typed config, and the rule that keeps recorded trial ids stable when options are added.

Each study type expands its config into :class:`TrialConfig` models (frozen, unknown keys are errors). A
trial's dict, the one that is hashed into its id (:func:`~sparsewire.studies.identity.config_hash`) and
stored in its row, is its :meth:`~pydantic.BaseModel.model_dump`: the fields in declaration order, nested
configs dumped by their own serializers, and every :data:`Recorded` field left out while it is at its
default. A field added after runs were recorded is declared ``Recorded`` with the value those runs
behaved with as its default, so their trials keep their ids and any other value gives new ones
(``docs/architecture.md``, Conventions: Studies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

T = TypeVar("T")


class RecordedDefault:
    """Field marker: at its default, the field stays out of the trial's dict (and so out of its id)."""

    def __repr__(self) -> str:
        return "RecordedDefault()"


Recorded = Annotated[T, RecordedDefault()]
"""``name: Recorded[type] = value``: a trial field that joins the trial's dict only when it is not ``value``,
the behaviour of the runs recorded before the field existed."""


class TrialConfig(BaseModel):
    """Everything that determines one trial; its dump (``model_dump()``) is the trial's dict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    NETWORK_FIELDS: ClassVar[frozenset[str]] = frozenset()
    """Fields that may differ between the members of one cohort (see :meth:`cohort_key`)."""

    @classmethod
    def recorded_fields(cls) -> tuple[str, ...]:
        """The fields declared :data:`Recorded`."""
        return tuple(name for name, field in cls.model_fields.items()
                     if any(isinstance(m, RecordedDefault) for m in field.metadata))

    @model_serializer(mode="wrap")
    def _omit_recorded_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.recorded_fields():
            if name in data and getattr(self, name) == type(self).model_fields[name].default:
                del data[name]
        return data

    @classmethod
    def parse(cls, trial: TrialConfig | Mapping[str, Any]) -> Self:
        """``trial`` as this model: a model is returned as it is, a trial's dict (its stored ``config``, with
        or without the ``study`` key the runner adds) is validated."""
        if isinstance(trial, cls):
            return trial
        if isinstance(trial, TrialConfig):
            raise TypeError(f"a {type(trial).__name__} is not a {cls.__name__}")
        return cls.model_validate({k: v for k, v in trial.items() if k != "study"})

    def cohort_key(self) -> dict[str, Any]:
        """The trial's dict without :attr:`NETWORK_FIELDS`: trials with equal keys may train as one cohort."""
        return {k: v for k, v in self.model_dump().items() if k not in self.NETWORK_FIELDS}
