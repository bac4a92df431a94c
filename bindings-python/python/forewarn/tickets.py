"""Help-desk mining: turn ticket exports into trends, recurring topics and recommendations.

:func:`analyze` reads exports of GLPI, osTicket, Zammad, Freshservice, Google Forms and
ServiceNow (CSV, TSV, XLSX; files or directories of them), counts tickets per school week,
finds spikes, term-over-term changes, long trends and level shifts, groups the tickets into
topics, and suggests training sessions and FAQ pages, each with its evidence. It is the
``forewarn tickets analyze`` command as a function::

    from forewarn import tickets

    truth = tickets.generate("export.csv", rows=5000, seed=1, calendar_out="calendar.toml")
    analysis = tickets.analyze("export.csv", "calendar.toml", "report.html")
    for topic in analysis.topics.topics[:5]:
        print(topic.name, topic.tickets)
    for training in analysis.recommendations.training:
        print(training.topic, training.timing, training.reasons)

Every result is an immutable dataclass whose fields are those of the library's report (the
JSON twin of the HTML report); ``to_dict()`` gives plain, JSON-serialisable values, and
:meth:`Analysis.to_pandas` gives DataFrames. Dates are :class:`~datetime.date`, times aware
:class:`~datetime.datetime` in the district's time zone.

Bad input raises a :class:`forewarn.ForewarnError` naming the file (and line): a missing file
is a :class:`forewarn.ForewarnIOError`, an export that cannot be read an
:class:`forewarn.InvalidArgumentError`. Rows that cannot be used are skipped and listed in
:attr:`Analysis.ingest` rather than stopping the analysis.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import (
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from . import _native

__all__ = [
    "PathLike",
    "Dimension",
    "SpikeKind",
    "TermChangeKind",
    "TopicSource",
    "Profile",
    "Term",
    "BreakEvidence",
    "Break",
    "SchoolCalendar",
    "WeeklySeries",
    "Spike",
    "TermVolume",
    "TermChange",
    "MannKendall",
    "LongTrend",
    "Changepoint",
    "Trends",
    "AssignmentSource",
    "MatchedTerm",
    "Topic",
    "TicketAssignment",
    "DuplicateGroup",
    "TopicModel",
    "KChoice",
    "TrainingEvidence",
    "TrainingCandidate",
    "FaqCandidate",
    "KbGap",
    "OutageImpact",
    "Recommendations",
    "RowProblem",
    "FileSummary",
    "IngestSummary",
    "FaqDrafts",
    "Analysis",
    "PlantedSpike",
    "PlantedTrend",
    "GroundTruth",
    "analyze",
    "generate",
]

PathLike = Union[str, "os.PathLike[str]"]
"""A file system path: a ``str`` or a :class:`pathlib.Path` (any ``os.PathLike``)."""

DEFAULT_TITLE = "Help-desk trends and recommendations"
"""The report's title unless one is given (the command line's)."""


# ---------------------------------------------------------------------------------------------
# Enumerations
# ---------------------------------------------------------------------------------------------


class Dimension(str, enum.Enum):
    """What a weekly series counts."""

    ALL = "all"
    """All tickets."""
    CATEGORY = "category"
    """One category."""
    SITE = "site"
    """One site (school, building)."""
    TOPIC = "topic"
    """One topic."""

    def __str__(self) -> str:
        return self.value


class SpikeKind(str, enum.Enum):
    """Why a week was flagged."""

    SPIKE = "spike"
    """An unexpected spike."""
    TERM_START = "term-start"
    """A rise in the first weeks of a term (expected in schools; reported separately)."""

    def __str__(self) -> str:
        return self.value


class TermChangeKind(str, enum.Enum):
    """How a series went from one term to the next."""

    CHANGED = "changed"
    """Tickets in both terms: the rates are compared."""
    NEW = "new"
    """None in the earlier term."""
    GONE = "gone"
    """None in the later term."""

    def __str__(self) -> str:
        return self.value


class TopicSource(str, enum.Enum):
    """Where a topic comes from."""

    TAXONOMY = "taxonomy"
    """The keyword taxonomy."""
    CLUSTER = "cluster"
    """A TF-IDF k-means cluster of the tickets the taxonomy misses."""

    def __str__(self) -> str:
        return self.value


class AssignmentSource(str, enum.Enum):
    """How a ticket got its topic."""

    TAXONOMY = "taxonomy"
    """The keyword taxonomy matched its text."""
    NEAR_DUPLICATE = "near-duplicate"
    """It belongs to a near-duplicate group, whose clustered tickets share one cluster."""
    CLUSTER = "cluster"
    """TF-IDF k-means put it in the cluster."""

    def __str__(self) -> str:
        return self.value


class Profile(str, enum.Enum):
    """The help-desk system an export comes from."""

    GLPI = "glpi"
    OSTICKET = "os-ticket"
    ZAMMAD = "zammad"
    FRESHSERVICE = "freshservice"
    GOOGLE_FORMS = "google-forms"
    SERVICENOW = "service-now"
    HELPDESK4TU = "helpdesk4tu"
    """The 4TU.ResearchData help-desk event log (arrivals and handling times, no text)."""
    GENERIC = "generic"
    """Unknown system: columns matched by name only."""

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------------------------
# Conversion between the native module's plain values and the dataclasses
# ---------------------------------------------------------------------------------------------

_R = TypeVar("_R", bound="_Record")


def _plain(value: Any) -> Any:
    """A value as JSON-serialisable Python: dates as ISO 8601 text, enums as their value."""
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _build(tp: Any, value: Any) -> Any:
    """Converts a plain value from the native module to the annotated type ``tp``."""
    origin = get_origin(tp)
    if origin is Union:
        if value is None:
            return None
        (inner,) = [a for a in get_args(tp) if a is not type(None)]
        return _build(inner, value)
    if origin is list:
        (inner,) = get_args(tp)
        return [_build(inner, v) for v in value]
    if origin is tuple:
        return tuple(_build(t, v) for t, v in zip(get_args(tp), value))
    if origin is dict:
        _, inner = get_args(tp)
        return {k: _build(inner, v) for k, v in value.items()}
    if isinstance(tp, type):
        if issubclass(tp, _Record):
            return tp._from_plain(value)
        if issubclass(tp, enum.Enum):
            return tp(value)
        if tp is datetime:
            return value if isinstance(value, datetime) else datetime.fromisoformat(value)
        if tp is date:
            return value if isinstance(value, date) else date.fromisoformat(value)
        if tp is Path:
            return Path(value)
        if tp is float:
            return float(value)
    return value


class _Record:
    """The shared behaviour of the result dataclasses: built from the native module's dicts,
    turned back into plain values by :meth:`to_dict`."""

    _renamed: ClassVar[Dict[str, str]] = {}
    """Fields whose key in the library's report differs from the attribute's name."""

    def to_dict(self) -> Dict[str, Any]:
        """The value as plain, JSON-serialisable Python (``json.dumps`` takes it as it is):
        keys are the attribute names, dates and times ISO 8601 text, enums their value."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    @classmethod
    def _from_plain(cls: Type[_R], d: Dict[str, Any]) -> _R:
        hints = get_type_hints(cls)
        kwargs: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            key = cls._renamed.get(f.name, f.name)
            if key in d:
                kwargs[f.name] = _build(hints[f.name], d[key])
        return cls(**kwargs)


# ---------------------------------------------------------------------------------------------
# The school calendar
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term(_Record):
    """A school term."""

    name: str
    start: date
    """First day."""
    end: date
    """Last day."""


@dataclass(frozen=True)
class BreakEvidence(_Record):
    """Why an inferred break was taken for one: the tickets it had against those expected."""

    count: int
    expected: float
    p_value: float


@dataclass(frozen=True)
class Break(_Record):
    """A holiday or break without instruction."""

    name: str
    start: date
    end: date
    evidence: Optional[BreakEvidence] = None
    """For an inferred calendar: the quiet that showed the break."""


@dataclass(frozen=True)
class SchoolCalendar(_Record):
    """The school calendar the analysis used: given (a file) or inferred from the tickets."""

    _renamed: ClassVar[Dict[str, str]] = {"terms": "term", "breaks": "holiday"}

    terms: List[Term]
    breaks: List[Break]
    instructional_days: List[date] = field(repr=False)
    """Days of instruction listed explicitly (empty when terms, breaks and weekdays say it)."""
    weekdays: List[str]
    """The weekdays with school ("mon", "tue", …)."""
    inferred: bool
    """Whether the calendar was inferred from the tickets."""


# ---------------------------------------------------------------------------------------------
# Trends
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklySeries(_Record):
    """Weekly ticket counts of one slice of the tickets."""

    dimension: Dimension
    key: str
    """The category, site or topic (``"all"`` for all tickets)."""
    counts: List[int] = field(repr=False)
    """Tickets per week, aligned with :attr:`Trends.weeks`."""
    total: int


@dataclass(frozen=True)
class Spike(_Record):
    """A week with far more tickets than its baseline."""

    dimension: Dimension
    key: str
    week: date
    """Monday of the week."""
    kind: SpikeKind
    count: int
    """Tickets that week."""
    expected: float
    """Expected from the baseline weeks, scaled to the week's instructional days."""
    baseline_rate: float
    """Baseline tickets per instructional day."""
    baseline_weeks: int
    p_value: float
    """Upper-tail p-value (conditional binomial)."""
    threshold: float
    """The Bonferroni threshold the p-value was compared with."""


@dataclass(frozen=True)
class TermVolume(_Record):
    """One term's volume."""

    name: str
    start: date
    end: date
    count: int
    days: int
    """Instructional days in the term (within the data's span)."""
    rate: float
    """Tickets per instructional day."""


@dataclass(frozen=True)
class TermChange(_Record):
    """A term compared with the previous one (Poisson rate-ratio test)."""

    dimension: Dimension
    key: str
    term: str
    previous: str
    count: int
    previous_count: int
    kind: TermChangeKind
    rate_ratio: Optional[float]
    """Rate this term over the previous one (``None`` when either has no tickets)."""
    p_value: float
    significant: bool


@dataclass(frozen=True)
class MannKendall(_Record):
    """A Mann-Kendall trend test with Sen's slope."""

    s: float
    z: float
    p_value: float
    sen_slope: float
    """Median change per week."""


@dataclass(frozen=True)
class LongTrend(_Record):
    """A long trend of a series' weekly rate."""

    dimension: Dimension
    key: str
    test: MannKendall
    weeks: int
    median_rate: float
    relative_change: float
    """Change over the span relative to the median rate."""
    significant: bool


@dataclass(frozen=True)
class Changepoint(_Record):
    """A level shift (Poisson changepoint search)."""

    dimension: Dimension
    key: str
    week: date
    """The first week at the new level."""
    rate_before: float
    rate_after: float
    monthly_before: float
    monthly_after: float
    monthly_before_quarter: float
    monthly_after_quarter: float
    segment_before_start: date
    segment_after_end: date
    p_value: float
    penalty: float


@dataclass(frozen=True, repr=False)
class Trends(_Record):
    """Volume trends: weekly series, spikes, term comparison, long trends, level shifts."""

    weeks: List[date]
    """Monday of every week of the span."""
    instructional_days: List[int]
    """School days in each week."""
    series: List[WeeklySeries]
    spikes: List[Spike]
    terms: List[TermVolume]
    term_changes: List[TermChange]
    long_trends: List[LongTrend]
    changepoints: List[Changepoint]
    outside_instruction: int
    """Tickets opened on days without instruction."""

    def unexpected_spikes(self) -> Iterator[Spike]:
        """The spikes that are not term-start surges."""
        return (s for s in self.spikes if s.kind is SpikeKind.SPIKE)

    def find_series(self, dimension: Union[Dimension, str], key: str) -> Optional[WeeklySeries]:
        """The series of one dimension and key, if it has one."""
        dimension = Dimension(dimension)
        return next(
            (s for s in self.series if s.dimension is dimension and s.key == key), None
        )

    def __repr__(self) -> str:
        first = self.weeks[0].isoformat() if self.weeks else "-"
        last = self.weeks[-1].isoformat() if self.weeks else "-"
        return (
            f"Trends(weeks={first}..{last}, series={len(self.series)}, "
            f"spikes={len(self.spikes)}, long_trends={len(self.long_trends)}, "
            f"changepoints={len(self.changepoints)})"
        )


# ---------------------------------------------------------------------------------------------
# Topics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchedTerm(_Record):
    """A taxonomy term that matched, and in how many of the topic's tickets."""

    term: str
    """The term as the taxonomy writes it."""
    tickets: int


@dataclass(frozen=True)
class Topic(_Record):
    """A topic and what is known about its tickets."""

    name: str
    """The label: the taxonomy's name, or a cluster's top terms."""
    source: TopicSource
    tickets: int
    distinct_requesters: int
    """Distinct requesters of the tickets people wrote (not the devices' alert mails)."""
    top_terms: List[str]
    """Its most characteristic (stemmed) words."""
    matched_terms: List[MatchedTerm]
    """For a taxonomy topic, the terms that matched its tickets, most tickets first (empty
    for a cluster)."""
    example: str
    """The most typical ticket's text."""
    hardware: bool
    how_to_share: float
    """Share of the tickets people wrote worded as how-to questions."""
    median_handling_hours: Optional[float]
    """Median hours to resolution of the tickets people wrote, when known."""
    automated: int = 0
    """Of its tickets, those a device or a monitoring system sent, not a person (alert and
    recovery mails, notices generated automatically). A topic made mostly of them is not
    suggested for training or a help page."""


@dataclass(frozen=True)
class TicketAssignment(_Record):
    """One ticket's topic."""

    ticket: str
    """The ticket's id in the export."""
    topic: Optional[str]
    """Its topic's name (``None`` when it has no text to go by)."""
    source: Optional[AssignmentSource]
    """How it got the topic (``None`` with no topic)."""
    score: float
    """For the taxonomy, the matched words (each occurrence of a term counts its words); for a
    cluster or near-duplicate group, the cosine similarity to the cluster's centre (0 to 1)."""


@dataclass(frozen=True)
class DuplicateGroup(_Record):
    """Tickets asking the same thing in nearly the same words."""

    tickets: int
    distinct_texts: int
    distinct_requesters: int
    question: str
    topic: Optional[str]
    resolution: Optional[str]
    resolution_consistency: Optional[float]
    automated: bool = False
    """Most of its tickets were sent by a device or a monitoring system: the same notice again,
    not a question, so it is not suggested as an FAQ."""


@dataclass(frozen=True)
class KChoice(_Record):
    """How the number of clusters was chosen from the data."""

    candidates: List[Tuple[int, float]]
    """Each candidate k and the held-out silhouette its clusters had (weighted, cosine against
    the centres), in increasing k; the smallest k where this curve, each score averaged with
    its neighbours', stops rising (80 % of the way from its lowest score to its highest) was
    taken."""
    sample: int
    """Distinct texts the candidates were scored on."""


@dataclass(frozen=True)
class TopicModel(_Record):
    """Topics (taxonomy matches and clusters) and near-duplicate groups."""

    topics: List[Topic]
    """Largest first."""
    assignments: List[TicketAssignment]
    """Each ticket's topic, in the exports' order (the JSON twin writes them in columns, the
    topic as an index into ``topics``)."""
    groups: List[DuplicateGroup]
    distinct_texts: int
    features: int
    clustered: int
    """Tickets clustered (those the taxonomy missed, or all)."""
    k: int
    """Clusters made."""
    k_choice: Optional[KChoice]
    """How k was chosen from the data (``None`` when it was given)."""


# ---------------------------------------------------------------------------------------------
# Recommendations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingEvidence(_Record):
    """What a training suggestion rests on."""

    tickets: int
    distinct_requesters: int
    how_to_share: float
    median_handling_hours: Optional[float]
    hardware: bool
    term_start_share: float
    """Share of the topic's tickets in the first weeks of a term."""
    term_start_day_share: float
    """Share of the school days that are term-start days, to compare with."""


@dataclass(frozen=True)
class TrainingCandidate(_Record):
    """A topic that training would prevent tickets of."""

    topic: str
    score: int
    reasons: List[str]
    timing: str
    """When to hold it (e.g. before term starts)."""
    evidence: TrainingEvidence


@dataclass(frozen=True)
class FaqCandidate(_Record):
    """A question asked often enough for a help page."""

    question: str
    tickets: int
    share: float
    first: Optional[date]
    last: Optional[date]
    distinct_requesters: int
    topic: Optional[str]
    category: Optional[str]
    examples: List[str]
    resolution: Optional[str]
    resolution_consistency: Optional[float]
    covered_by: Optional[str]
    """The knowledge-base article that already answers it, when one does."""


@dataclass(frozen=True)
class KbGap(_Record):
    """A frequent topic the knowledge base does not cover."""

    topic: str
    tickets: int
    closest_article: Optional[str]
    coverage: float


@dataclass(frozen=True)
class OutageImpact(_Record):
    """The tickets an outage (a forewarn incident) brought."""

    check_name: str
    opened: datetime
    """Aware, in the district's time zone."""
    resolved: Optional[datetime]
    tickets: int
    expected: float
    excess: float
    p_value: float
    top_topics: List[Tuple[str, int]]
    """Its tickets' topics: (topic, tickets)."""


@dataclass(frozen=True)
class Recommendations(_Record):
    """Training, FAQ, knowledge-base and outage findings."""

    training: List[TrainingCandidate]
    faq: List[FaqCandidate]
    kb_articles: int
    """Knowledge-base articles read."""
    kb_gaps: List[KbGap]
    outages: List[OutageImpact]


# ---------------------------------------------------------------------------------------------
# Ingest and the whole analysis
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem(_Record):
    """One skipped row."""

    file: str
    line: int
    """1-based line in the file (for XLSX: the sheet row)."""
    reason: str


@dataclass(frozen=True)
class FileSummary(_Record):
    """What was detected in one file."""

    file: str
    profile: Profile
    delimiter: Optional[str]
    """``,``, ``;`` or a tab; ``None`` for XLSX."""
    encoding: str
    day_first: bool
    columns: Dict[str, str]
    """Column header → the ticket field it was read as."""
    read: int
    folded: int
    skipped: int


@dataclass(frozen=True)
class IngestSummary(_Record):
    """What reading the exports did: rows read, tickets kept, rows skipped and why."""

    read: int
    """Data rows read (headers excluded); ``read == accepted + folded + skipped``."""
    accepted: int
    """Tickets read."""
    folded: int
    """Rows of event logs folded into the ticket whose id they repeat."""
    skipped: int
    reasons: Dict[str, int]
    """Skipped rows per reason (``"bad date"``, ``"wrong field count"``…)."""
    problems: List[RowProblem]
    """The first skipped rows in detail."""
    files: List[FileSummary]


@dataclass(frozen=True)
class FaqDrafts(_Record):
    """The draft help pages written (``faq_drafts=``), and existing ones left alone."""

    dir: Path
    written: List[Path]
    skipped: List[Path]


@dataclass(frozen=True, repr=False)
class Analysis(_Record):
    """Everything :func:`analyze` found."""

    inputs: List[str]
    """The export files read (names without directories)."""
    ingest: IngestSummary
    calendar: SchoolCalendar
    trends: Trends
    topics: TopicModel
    recommendations: Recommendations
    faq_drafts: Optional[FaqDrafts]
    time_zone: str
    """The district's time zone (IANA name) times were read in."""
    report: Optional[Path]
    """The HTML report written, if any."""
    json_report: Optional[Path]
    """Its JSON twin."""

    def __repr__(self) -> str:
        return (
            f"Analysis(tickets={self.ingest.accepted}, skipped={self.ingest.skipped}, "
            f"topics={len(self.topics.topics)}, "
            f"unexpected_spikes={sum(1 for _ in self.trends.unexpected_spikes())}, "
            f"training={len(self.recommendations.training)}, "
            f"faq={len(self.recommendations.faq)}, report={self.report!r})"
        )

    def to_pandas(self) -> Dict[str, Any]:
        """The analysis as pandas DataFrames, by name:

        - ``"weekly"``: one row per week (a ``DatetimeIndex`` of Mondays named ``week``),
          the column ``instructional_days`` and one column per series: ``all``, then
          ``"category: …"``, ``"site: …"``, ``"topic: …"``;
        - ``"topics"``, ``"duplicate_groups"``, ``"spikes"``, ``"terms"``, ``"term_changes"``,
          ``"long_trends"``, ``"changepoints"``, ``"training"``, ``"faq"``, ``"kb_gaps"``,
          ``"outages"``, ``"files"``, ``"problems"``: one row per item, one column per field
          (nested evidence flattened as ``evidence_tickets``, ``test_z``…; dates as
          datetime64 columns, outage times in UTC).

        Raises :class:`ImportError` when pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except ImportError as e:
            raise ImportError(
                "Analysis.to_pandas() needs pandas, which is not installed: pip install pandas"
            ) from e

        def frame(items: Sequence[_Record], cls: Type[_Record]) -> Any:
            columns = _flat_columns(cls)
            df = pd.DataFrame([_flat_row(i) for i in items], columns=columns)
            for name in columns:
                kind = _column_kinds(cls).get(name)
                if kind is date:
                    df[name] = pd.to_datetime(df[name])
                elif kind is datetime:
                    df[name] = pd.to_datetime(df[name], utc=True)
            return df

        t = self.trends
        weekly = pd.DataFrame(
            {"instructional_days": t.instructional_days},
            index=pd.DatetimeIndex(pd.to_datetime(t.weeks), name="week"),
        )
        for s in t.series:
            name = "all" if s.dimension is Dimension.ALL else f"{s.dimension.value}: {s.key}"
            weekly[name] = s.counts
        r = self.recommendations
        return {
            "weekly": weekly,
            "topics": frame(self.topics.topics, Topic),
            "duplicate_groups": frame(self.topics.groups, DuplicateGroup),
            "spikes": frame(t.spikes, Spike),
            "terms": frame(t.terms, TermVolume),
            "term_changes": frame(t.term_changes, TermChange),
            "long_trends": frame(t.long_trends, LongTrend),
            "changepoints": frame(t.changepoints, Changepoint),
            "training": frame(r.training, TrainingCandidate),
            "faq": frame(r.faq, FaqCandidate),
            "kb_gaps": frame(r.kb_gaps, KbGap),
            "outages": frame(r.outages, OutageImpact),
            "files": frame(self.ingest.files, FileSummary),
            "problems": frame(self.ingest.problems, RowProblem),
        }


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, _Record)


def _column_kinds(cls: Type[_Record], prefix: str = "") -> Dict[str, Any]:
    """Column name → its scalar type (``date``, ``datetime``…), nested records flattened."""
    out: Dict[str, Any] = {}
    for name, tp in get_type_hints(cls).items():
        if name.startswith("_"):
            continue
        if get_origin(tp) is Union:
            tp = next(a for a in get_args(tp) if a is not type(None))
        if _is_record(tp):
            out.update(_column_kinds(tp, f"{prefix}{name}_"))
        else:
            out[f"{prefix}{name}"] = tp
    return out


def _flat_columns(cls: Type[_Record]) -> List[str]:
    return list(_column_kinds(cls))


def _flat_row(record: _Record, prefix: str = "") -> Dict[str, Any]:
    """A record's fields as one flat row: nested records prefixed, enums their value."""
    row: Dict[str, Any] = {}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if isinstance(value, _Record):
            row.update(_flat_row(value, f"{prefix}{f.name}_"))
        elif isinstance(value, enum.Enum):
            row[f"{prefix}{f.name}"] = value.value
        else:
            row[f"{prefix}{f.name}"] = value
    return row


# ---------------------------------------------------------------------------------------------
# Synthetic exports
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedSpike(_Record):
    """A spike planted in a synthetic export."""

    topic: str
    """The taxonomy topic of the extra tickets."""
    site: Optional[str]
    """The site, when the spike is local."""
    week: date
    """Monday of the week."""
    extra: int
    """Extra tickets."""


@dataclass(frozen=True)
class PlantedTrend(_Record):
    """The rising topic of a synthetic export, with its volume multiplier at start and end."""

    topic: str
    start: float
    end: float


@dataclass(frozen=True)
class GroundTruth(_Record):
    """What :func:`generate` planted in an export, to check an analysis against."""

    calendar: SchoolCalendar
    """The school calendar the tickets follow."""
    spikes: List[PlantedSpike]
    trend: Optional[PlantedTrend]
    untaxonomised_topics: List[str]
    """Recurring topics outside the default taxonomy, by a distinctive word."""
    faq_question: str
    """The question asked most often in near-identical words."""
    rows: int
    """Rows written."""


# ---------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------


def _path(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def analyze(
    paths: Union[PathLike, Sequence[PathLike]],
    calendar: Optional[PathLike] = None,
    out: Optional[PathLike] = None,
    *,
    json_out: Optional[PathLike] = None,
    kb: Optional[PathLike] = None,
    incidents: Optional[PathLike] = None,
    time_zone: Optional[str] = None,
    faq_drafts: Optional[PathLike] = None,
    profile: Union[Profile, str, None] = None,
    salt: Optional[str] = None,
    day_first: Optional[bool] = None,
    dates_from: Optional[date] = None,
    dates_until: Optional[date] = None,
    taxonomy: Optional[PathLike] = None,
    k: Optional[int] = None,
    cluster_all: bool = False,
    seed: Optional[int] = None,
    title: str = DEFAULT_TITLE,
    progress: Optional[Callable[[str], object]] = None,
) -> Analysis:
    """Analyses help-desk exports, as ``forewarn tickets analyze`` does.

    :param paths: an export file (CSV, TSV, XLSX) or a directory of them, or several.
    :param calendar: the school calendar (TOML or CSV); inferred from the tickets when
        ``None``.
    :param out: the HTML report to write (with its JSON twin beside it); none when ``None``.
    :param json_out: the JSON twin's path (default: ``out`` with ``.json``).
    :param kb: a directory of knowledge-base articles (.md, .txt, .html) to check FAQ
        coverage against.
    :param incidents: a forewarn SQLite database whose incidents are correlated with ticket
        volume.
    :param time_zone: the district's IANA time zone, which the exports' times are written in
        and the incidents are read in (default: the system's).
    :param faq_drafts: a directory to write one draft help page per FAQ suggestion into
        (existing pages are left as they are).
    :param profile: force the export profile instead of detecting it.
    :param salt: salt for requester hashes (keep it private; the same salt keeps hashes
        comparable between reports).
    :param day_first: force day-first (``True``) or month-first (``False``) dates; detected
        when ``None``.
    :param dates_from: the earliest plausible date (default 1990-01-01): rows dated before it
        are skipped and listed.
    :param dates_until: the latest plausible date (default: a year after today).
    :param taxonomy: a keyword taxonomy (TOML) instead of the K-12 default.
    :param k: clusters for the tickets the taxonomy misses (chosen from the data when ``None``:
        see ``TopicModel.k_choice``).
    :param cluster_all: cluster every ticket, not only those the taxonomy misses.
    :param seed: random seed of the clustering (default 42).
    :param title: the report's title.
    :param progress: called with each stage's name (``"ingest"``, ``"inputs"``,
        ``"calendar"``, ``"topics"``, ``"trends"``, ``"recommendations"``, ``"faq drafts"``,
        ``"report"``) as it starts; nothing is printed otherwise. An exception it raises is
        raised when the analysis is over.

    The work runs without holding the GIL. Raises :class:`forewarn.ForewarnIOError` for a
    file that cannot be read, :class:`forewarn.InvalidArgumentError` for an export that
    cannot be used (naming the file and line) or an invalid option,
    :class:`forewarn.ConfigError` for a bad calendar or taxonomy file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    raw = _native.tickets_analyze(
        [os.fspath(p) for p in paths],
        _path(calendar),
        _path(out),
        _path(json_out),
        _path(kb),
        _path(incidents),
        time_zone,
        _path(faq_drafts),
        profile.value if isinstance(profile, Profile) else profile,
        salt,
        day_first,
        dates_from,
        dates_until,
        _path(taxonomy),
        k,
        cluster_all,
        seed,
        title,
        progress,
    )
    analysis: Dict[str, Any] = dict(raw.pop("analysis"))
    analysis.update(raw)
    return Analysis._from_plain(analysis)


def generate(
    out: PathLike,
    *,
    rows: Optional[int] = None,
    seed: Optional[int] = None,
    effects: Optional[bool] = None,
    start_year: Optional[int] = None,
    years: Optional[int] = None,
    calendar_out: Optional[PathLike] = None,
) -> GroundTruth:
    """Writes a realistic synthetic school-district export (Freshservice-style CSV) to
    ``out``, as ``forewarn tickets generate`` does, and returns what was planted in it.

    :param rows: ticket rows, 1 to 10,000,000 (default 20,000; planted spikes add some).
    :param seed: random seed: the same seed gives the same file (default 1).
    :param effects: plant the term-start surge, spikes and a rising trend (default ``True``);
        ``False`` gives a stationary district.
    :param start_year: the first school year starts in August of this year, 1970 to 2999
        (default 2022).
    :param years: school years covered, 1 to 50 (default 3).
    :param calendar_out: also write the school calendar used (TOML), which
        :func:`analyze` takes as ``calendar``.

    Raises :class:`forewarn.InvalidArgumentError` for options out of range and
    :class:`forewarn.ForewarnIOError` when a file cannot be written.
    """
    raw = _native.tickets_generate(
        os.fspath(out), rows, seed, effects, start_year, years, _path(calendar_out)
    )
    trend = raw.get("trend")
    if trend is not None:
        raw["trend"] = {"topic": trend[0], "start": trend[1], "end": trend[2]}
    return GroundTruth._from_plain(raw)
