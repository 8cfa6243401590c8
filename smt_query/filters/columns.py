"""Filters on other record columns: version, platform, duration, outputs."""
import fnmatch
import math

from ..dates import parse_duration
from ..errors import QueryError
from ..where.qfields import glob_q
from .names import literal_glob
from .registry import Filter, Option, register_filter
from .sidebar import Sidebar, exact_field, most_used


@register_filter(name="version")
class VersionFilter(Filter):
    """Keep records whose code version begins with `prefix`."""

    options = [Option("version", "Code version starts with PREFIX.", metavar="PREFIX",
                      sidebar=Sidebar("version", most_used("version"), exact_field("version")))]

    def __init__(self, prefix):
        if not isinstance(prefix, str):
            raise QueryError(f"version needs a string, not {prefix!r}")
        super().__init__(prefix)
        self.prefix = prefix

    def test(self, record):
        return (record.version or "").startswith(self.prefix)

    def to_q(self, ctx):
        from django.db.models import Q, Value
        from django.db.models.functions import Substr
        from django.db.models.lookups import Exact
        if not self.prefix:
            return Q()
        return Q(Exact(Substr("version", 1, len(self.prefix)), Value(self.prefix)))


@register_filter(name="platform")
class PlatformFilter(Filter):
    """Keep records run on a machine matching `pattern`: a glob (or the exact
    text), matched case-sensitively against the host name, the system name
    (Linux, Darwin, Windows), the machine type (x86_64, arm64) and the
    processor of each platform Sumatra recorded for the run; one match is
    enough ('node*', 'Linux', 'arm64')."""

    options = [Option("platform", "Records run on a machine whose host name, system (Linux), "
                      "machine (x86_64) or processor matches PATTERN, exactly or as a glob "
                      "such as 'node*' (repeat: all of them).", metavar="PATTERN",
                      sidebar=Sidebar("platform", most_used("platforms__network_name"),
                                      lambda host: PlatformFilter(literal_glob(host))))]
    #: The attributes of Sumatra's PlatformInformation matched.
    fields = ("network_name", "system_name", "machine", "processor")

    def __init__(self, pattern):
        if not isinstance(pattern, str) or not pattern:
            raise QueryError(f"platform needs a non-empty string, not {pattern!r}")
        super().__init__(pattern)
        self.pattern = pattern

    def test(self, record):
        return any(fnmatch.fnmatchcase(getattr(p, f, None) or "", self.pattern)
                   for p in record.platforms or () for f in self.fields)

    def to_q(self, ctx):
        from django.db.models import Exists, OuterRef, Q
        q = Q(pk__in=[])
        for f in self.fields:
            part = glob_q(ctx, f, self.pattern)
            if part is None:
                return None
            q |= part
        platforms = ctx.models.PlatformInformation.objects.filter(q, record=OuterRef("pk"))
        return Q(Exists(platforms))


@register_filter(name="duration")
class DurationFilter(Filter):
    """Keep records whose duration (seconds) lies in [min, max]; either bound may
    be omitted; '2h30m' strings are accepted. Records without a duration
    (still running) are left out."""

    options = [Option("min_duration", "Ran at least D (90, 2h30m).", how="keyword", arg="min",
                      convert=parse_duration, type_name="DURATION"),
               Option("max_duration", "Ran at most D.", how="keyword", arg="max",
                      convert=parse_duration, type_name="DURATION")]

    def __init__(self, min=None, max=None):
        super().__init__(min=min, max=max)
        self.min = None if min is None else parse_duration(min)
        self.max = None if max is None else parse_duration(max)

    def test(self, record):
        d = record.duration
        if d is None or (isinstance(d, float) and math.isnan(d)):
            return False
        return (self.min is None or d >= self.min) and (self.max is None or d <= self.max)

    def to_q(self, ctx):
        from django.db.models import Q
        q = Q(duration__isnull=False)
        if self.min is not None:
            q &= Q(duration__gte=self.min)
        if self.max is not None:
            q &= Q(duration__lte=self.max)
        return q


@register_filter(name="output")
class OutputFilter(Filter):
    """Keep only records whose number of output files is between `minimum`
    and `maximum` (inclusive; `maximum=None` for no upper bound)."""

    options = [Option("has_output", "Records with at least one output file.", how="flag")]

    def __init__(self, minimum=1, maximum=None):
        super().__init__(minimum=minimum, maximum=maximum)
        self.minimum, self.maximum = minimum, maximum

    def test(self, record):
        n = len(record.output_data)
        return ((self.minimum is None or n >= self.minimum)
                and (self.maximum is None or n <= self.maximum))

    def to_q(self, ctx):
        from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
        from django.db.models.functions import Coalesce
        keys = ctx.models.DataKey.objects.filter(output_from_record=OuterRef("pk"))
        if self.maximum is None and self.minimum == 1:
            return Q(Exists(keys))
        count = Coalesce(Subquery(
            keys.order_by().values("output_from_record").annotate(n=Count("pk")).values("n"),
            output_field=IntegerField()), 0)
        from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
        q = Q()
        if self.minimum is not None:
            q &= Q(GreaterThanOrEqual(count, self.minimum))
        if self.maximum is not None:
            q &= Q(LessThanOrEqual(count, self.maximum))
        return q
