"""The ModelAdmin of Sumatra records: list, record page, actions, comparison.

Every condition comes from :mod:`smt_query.filters`: a sidebar choice, the
search box or the parameter box builds a library filter, and the store
decides what runs in SQL (:meth:`~smt_query.recordstore.QueryDjangoRecordStore.narrow`;
a filter without an SQL form runs in Python through a
:class:`~smt_query.view.RecordStoreView`, and the records it keeps narrow
the queryset by label). The sidebar filters and the change list are in
:mod:`smt_query.admin.lists`. Tags on a page are read in one query; nothing
is read per row.
"""
import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.views.main import SEARCH_VAR
from django.db import DatabaseError, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from ..dates import format_duration
from ..errors import QueryError
from ..fields import status_of
from ..filters import get_filter
from ..recordstore import MAX_IN  # noqa: F401  (importable from here too)
from ..where.qfields import timestamp_key, timestamp_order
from .display import parameters_tree, short_value
from .lists import (CONDITIONS, LIST_COLUMNS, LIST_ERRORS, LibraryListFilter,  # noqa: F401
                    RecordChangeList, _cut, _first_line, date_bounds, declared_metrics, failed,
                    is_status, list_error, list_filters, metric_column, parse_tags, user_tags)
from .notes import page_notes
from .source import get_source

#: Columns of the CSV export, and of the JSON export besides the parameters.
EXPORT_FIELDS = ("label", "timestamp", "status", "tags", "duration", "reason", "outcome",
                 "main_file", "version", "user")
#: Most records "compare selected" takes at once.
MAX_COMPARE = 1000
#: Labels per library query when exporting (each chunk is one SQL query).
EXPORT_CHUNK = 2000
#: Most characters of stored text shown for parameters that cannot be read.
MAX_SHOWN_TEXT = 20000
#: Most records the list's chart shows (the first ones in the list's order).
MAX_CHART = 10000
#: Fields the comparison page can add to the parameters.
COMPARE_FIELDS = ("reason", "outcome", "version", "main_file", "user", "duration")


def first_line(text):
    lines = (text or "").strip().splitlines()
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


class TagActionForm(ActionForm):
    tag = forms.CharField(required=False, label="Tag",
                          widget=forms.TextInput(attrs={"placeholder": "tag to add or remove",
                                                        "size": 18}))


class RecordForm(forms.ModelForm):
    """The two things a person may change: tags (as ``smt tag``) and outcome
    (as ``smt comment``).

    Both fields carry the value the page showed (Django's hidden initial
    value), so a save changes only what this person edited: tags are added
    and removed relative to the tags shown, never replaced by that (possibly
    stale) list, and an outcome left as shown is not written back.
    """

    tag_list = forms.CharField(
        required=False, label="Tags", widget=forms.TextInput(attrs={"size": 60}),
        help_text="Comma-separated. The status tag is kept as it is.")

    class Meta:
        fields = ("outcome",)
        widgets = {"outcome": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("tag_list", "outcome"):
            self.fields[name].show_hidden_initial = True
        record = getattr(self.instance, "smt_record", None)
        if record is not None:
            self.fields["tag_list"].initial = ", ".join(user_tags(record.tags))

    def clean_tag_list(self):
        return parse_tags(self.cleaned_data["tag_list"])

    def tag_edits(self):
        """``(added, removed)``: the tags typed but not shown, and the tags
        shown but no longer typed. A form posted without the tags it showed
        is compared with the record's tags now; one without ``tag_list``
        changes no tag."""
        field = self["tag_list"]
        if field.html_name not in self.data:
            return [], []
        shown = self.data.get(field.html_initial_name)
        shown = (parse_tags(shown) if shown is not None
                 else user_tags(self.instance.smt_record.tags))
        typed = self.cleaned_data["tag_list"]
        return [t for t in typed if t not in shown], [t for t in shown if t not in typed]


class RecordAdmin(admin.ModelAdmin):
    """Sumatra records of one project."""

    list_display = ("label", "timestamp_display", "tags_display", "status_display",
                    "reason_display", "outcome_display", "duration_display", "main_file",
                    "version_display")
    list_display_links = ("label",)
    # the list filters come from the filter registry (filters.Sidebar): get_list_filter
    date_hierarchy = "timestamp"
    search_fields = ("label", "reason", "outcome")
    search_help_text = ("Words found in the label, reason or outcome (reason and outcome: "
                        "smart case, ignoring case unless the word has an upper-case letter; "
                        "all words must match).")
    sortable_by = ("label", "timestamp_display", "duration_display", "main_file",
                   "version_display")
    ordering = timestamp_order()   # unreadable timestamps last (where.qfields)
    list_per_page = 100
    list_max_show_all = 500
    show_full_result_count = False
    if hasattr(admin, "ShowFacets"):  # Django >= 5.0: no per-choice counts
        show_facets = admin.ShowFacets.NEVER
    action_form = TagActionForm
    actions = ("add_tag", "remove_tag", "compare_selected", "export_json", "export_csv")
    form = RecordForm
    readonly_fields = (
        "label", "timestamp_display", "status_display", "reason_full", "duration_display",
        "user", "main_file", "version", "repository_display", "executable_display",
        "script_arguments", "diff_display", "parameters_display", "input_data_display",
        "output_data_display", "datastore_display", "dependencies_display",
        "platform_display", "launch_mode_display", "stdout_stderr_display", "repeats")
    fieldsets = (
        (None, {"fields": ("label", "timestamp_display", "status_display", "tag_list",
                           "outcome", "reason_full", "duration_display", "user")}),
        ("Parameters", {"fields": ("parameters_display",)}),
        ("Code", {"fields": ("main_file", "version", "repository_display",
                             "executable_display", "script_arguments", "diff_display")}),
        ("Data", {"fields": ("input_data_display", "output_data_display",
                             "datastore_display")}),
        ("Environment", {"fields": ("dependencies_display", "platform_display",
                                    "launch_mode_display")}),
        ("Output", {"fields": ("stdout_stderr_display", "repeats")}),
    )

    # -- data ----------------------------------------------------------------
    def source(self):
        return get_source()

    def context(self, request):
        """The store's SQL context, one per request."""
        ctx = getattr(request, "smt_ctx", None)
        if ctx is None:
            ctx = request.smt_ctx = self.source().store.context()
        return ctx

    def get_queryset(self, request):
        queryset = self.source().queryset()
        return queryset.none() if failed(request) else queryset

    def get_changelist(self, request, **kwargs):
        return RecordChangeList

    def get_list_display(self, request):
        """The columns, then one per metric the project declares (``metric.NAME``)."""
        return tuple(self.list_display) + tuple(metric_column(n) for n in declared_metrics(self))

    def get_sortable_by(self, request):
        return tuple(self.sortable_by) + tuple(metric_column(n) for n in declared_metrics(self))

    def get_list_filter(self, request):
        """One list filter per registered filter option with a sidebar
        (:func:`~smt_query.admin.lists.list_filters`)."""
        return list_filters()

    def narrow(self, request, queryset, fltr):
        """``queryset`` narrowed by the library filter ``fltr`` (the store decides
        what runs in SQL: :meth:`~smt_query.recordstore.QueryDjangoRecordStore.narrow`).
        The metrics it reads (``metric.NAME``) are refreshed first."""
        expr = getattr(fltr, "expr", None)
        if expr is not None:
            from ..where.metrics import metric_names
            names = metric_names(expr)
            if names:
                from ..metrics import prepare_view
                prepare_view(self.source().view(), names, progress=False)
        return self.source().store.narrow(
            queryset, fltr, lambda f: self.source().view().filter(f.test).labels(),
            ctx=self.context(request))

    def get_search_results(self, request, queryset, search_term):
        """Each word must occur in the label, reason or outcome (library text filters)."""
        from django.utils.text import smart_split, unescape_string_literal
        if failed(request):
            return queryset, False
        ctx = self.context(request)
        for word in smart_split(search_term):
            if word[:1] in "\"'" and word[-1:] == word[:1] and len(word) > 1:
                word = unescape_string_literal(word)
            if not word:
                continue
            q = None
            for name in ("label", "reason", "outcome"):
                try:
                    part = get_filter(name)(word).to_q(ctx)
                except QueryError as err:
                    raise QueryError(f"search: {_first_line(err)}") from None
                q = part if q is None else q | part
            queryset = queryset.filter(q)
        return queryset, False

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.smt_record = self.source().store.load(
                self.get_queryset(request).filter(pk=obj.pk))[0]
        return obj

    # -- permissions: records are made by `smt run`, never here --------------
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # The admin log lives with the accounts; records are logged nowhere.
    def log_addition(self, *args, **kwargs):
        return None

    def log_change(self, *args, **kwargs):
        return None

    def log_deletions(self, *args, **kwargs):
        return None

    # -- list columns ----------------------------------------------------------
    @admin.display(description="timestamp", ordering=timestamp_key())
    def timestamp_display(self, obj):
        if obj.timestamp is None:   # unreadable in the store (UnreadableTimestamp)
            return "(unreadable)"
        return obj.timestamp.isoformat(sep=" ", timespec="seconds")[:19]   # years as 0001

    @admin.display(description="tags")
    def tags_display(self, obj):
        tags = user_tags(self._tags(obj))
        return format_html_join(" ", '<span class="smt-tag">{}</span>', ((t,) for t in tags))

    @admin.display(description="status")
    def status_display(self, obj):
        status = status_of(self._tags(obj))
        return format_html('<span class="smt-status smt-status-{}">{}</span>', status, status)

    @admin.display(description="reason")
    def reason_display(self, obj):
        return first_line(obj.reason)

    @admin.display(description="outcome")
    def outcome_display(self, obj):
        return first_line(obj.outcome)

    @admin.display(description="duration", ordering="duration")
    def duration_display(self, obj):
        return format_duration(obj.duration)

    @admin.display(description="version", ordering="version")
    def version_display(self, obj):
        return format_html('<span title="{}">{}</span>', obj.version,
                           short_value("version", obj.version))

    @staticmethod
    def _tags(obj):
        tags = getattr(obj, "smt_tags", None)
        if tags is None:
            tags = obj.smt_record.tags
        return tags

    # -- record page -------------------------------------------------------------
    @admin.display(description="reason")
    def reason_full(self, obj):
        return format_html('<div class="smt-pre">{}</div>', obj.reason)

    @admin.display(description="parameters")
    def parameters_display(self, obj):
        params = getattr(obj, "smt_params", None)
        if params is None:
            text = str(obj.smt_record.parameters)
            cut = text[:MAX_SHOWN_TEXT] + ("…" if len(text) > MAX_SHOWN_TEXT else "")
            return format_html('<p class="errornote">Cannot read these parameters; the '
                               'stored text:</p><pre class="smt-pre">{}</pre>', cut)
        return parameters_tree(params)

    def record_parameters(self, request, record):
        """The parameters of ``record`` as a dict; None, named in a message on
        the page, if they cannot be read (the lists count it as having none)."""
        from ..params import record_parameters
        errors = {}
        params = record_parameters(record, errors)   # the one rule of the library
        if params is not None:
            return params
        reason = errors[record.label]
        self.message_user(request, f"record {_cut(record.label)}: cannot read its "
                                   f"parameters: {_cut(reason, 200)}", messages.WARNING)
        return None

    @admin.display(description="repository")
    def repository_display(self, obj):
        repo = obj.smt_record.repository
        return "" if repo is None else f"{repo.url} ({type(repo).__name__})"

    @admin.display(description="executable")
    def executable_display(self, obj):
        exe = obj.smt_record.executable
        if exe is None:
            return ""
        return " ".join(str(p) for p in (exe.name, exe.version, exe.path, exe.options) if p)

    @admin.display(description="diff")
    def diff_display(self, obj):
        return format_html('<pre class="smt-pre">{}</pre>', obj.diff) if obj.diff else "—"

    @admin.display(description="input data")
    def input_data_display(self, obj):
        return _datakeys(obj.smt_record.input_data)

    @admin.display(description="outputs")
    def output_data_display(self, obj):
        return _datakeys(obj.smt_record.output_data)

    @admin.display(description="data store")
    def datastore_display(self, obj):
        record = obj.smt_record
        return format_html("{}<br>input: {}", record.datastore, record.input_datastore)

    @admin.display(description="dependencies")
    def dependencies_display(self, obj):
        rows = [(d.name, d.version, d.path) for d in obj.smt_record.dependencies]
        return _table(("name", "version", "path"), rows)

    @admin.display(description="platform")
    def platform_display(self, obj):
        rows = [(k, v) for info in obj.smt_record.platforms for k, v in sorted(vars(info).items())]
        return _table(("", ""), rows)

    @admin.display(description="launch mode")
    def launch_mode_display(self, obj):
        launch = obj.smt_record.launch_mode
        state = launch.__getstate__() or {}
        return format_html("{} {}", type(launch).__name__,
                           ", ".join(f"{k}={v}" for k, v in sorted(state.items())))

    @admin.display(description="stdout and stderr")
    def stdout_stderr_display(self, obj):
        text = obj.smt_record.stdout_stderr
        return format_html('<pre class="smt-pre">{}</pre>', text) if text else "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"title": "Record", "show_save_and_add_another": False,
                 "show_save_and_continue": True, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        if obj is not None:
            context["subtitle"] = obj.label
            obj.smt_params = self.record_parameters(request, obj.smt_record)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        """The outcome if it was edited, and the tag edits (:meth:`RecordForm.tag_edits`)
        through the store's atomic tagging (as ``smt tag``), in one transaction."""
        store = self.source().store
        added, removed = form.tag_edits()
        outcome = "outcome" in form.changed_data
        with transaction.atomic(using=store.db_alias):
            if outcome:
                self.get_queryset(request).filter(pk=obj.pk).update(
                    outcome=form.cleaned_data["outcome"])
            for tag in added:
                store.add_tag([obj.pk], tag)
            for tag in removed:
                store.remove_tag([obj.pk], tag)
        request.smt_saved = added, removed, outcome

    def response_change(self, request, obj):
        # Sumatra's Record has no __str__: name records by label in messages.
        added, removed, outcome = getattr(request, "smt_saved", ((), (), False))
        done = ([f"added tag {t!r}" for t in added] + [f"removed tag {t!r}" for t in removed]
                + (["changed the outcome"] if outcome else []))
        self.message_user(request, f"{obj.label}: {', '.join(done)}." if done else
                          f"{obj.label}: nothing changed.", messages.SUCCESS)
        if "_continue" in request.POST:
            return HttpResponseRedirect(request.get_full_path())
        return self.response_post_save_change(request, obj)

    def action_checkbox(self, obj):
        from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
        checkbox = forms.CheckboxInput({"class": "action-select", "aria-label": f"Select {obj.label}"},
                                       lambda value: False)
        return checkbox.render(ACTION_CHECKBOX_NAME, str(obj.pk))

    def save_related(self, request, form, formsets, change):
        return None  # no related objects are edited here

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with page_notes(request):
                response = super().changeform_view(request, object_id, form_url, extra_context)
            return _rendered(response)
        except (QueryError, DatabaseError) as err:
            if request.method != "POST":   # the page cannot be shown: back to the list
                self.message_user(request, _first_line(err), messages.ERROR)
                return HttpResponseRedirect(reverse(
                    f"{self.admin_site.name}:django_store_record_changelist"))
            # e.g. a bad tag: the transaction is rolled back, nothing was changed
            self.message_user(request, f"Nothing changed: {_first_line(err)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # -- list page -----------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        """The list; a condition the library or the database cannot run (a bad
        expression, glob or date, a query past the database's limits) is a
        message above an empty list, the conditions kept in their boxes."""
        extra = {"where_value": request.GET.get("where", ""), "title": f"Records of {self.source().name}",
                 **(extra_context or {})}
        try:
            if "\x00" in request.POST.get("tag", "") or any(
                    "\x00" in v for k, values in request.GET.lists() if k != SEARCH_VAR
                    for v in values):   # PostgreSQL refuses them; Django's search box too
                raise QueryError("null characters are not allowed")
            with page_notes(request):
                response = super().changelist_view(request, extra)
            return _rendered(response)
        except LIST_ERRORS as err:
            self.message_user(request, list_error(request, err), messages.ERROR)
        if request.method == "POST":   # an action failed: never run it twice
            return HttpResponseRedirect(request.get_full_path())
        request.smt_failed = True
        return _rendered(super().changelist_view(request, extra))

    # -- actions -----------------------------------------------------------------
    def _action_tag(self, request):
        tag = (request.POST.get("tag") or "").strip()
        if not tag:
            self.message_user(request, "Type the tag in the Tag box next to the action.",
                              messages.WARNING)
        return tag

    def _retag(self, request, queryset, add):
        tag = self._action_tag(request)
        if not tag:
            return
        store = self.source().store
        try:
            changed = (store.add_tag if add else store.remove_tag)(queryset, tag)
        except (QueryError, DatabaseError) as err:
            self.message_user(request, f"Nothing changed: {_first_line(err)}", messages.ERROR)
            return
        self.message_user(request, f"{'Added' if add else 'Removed'} tag {tag!r} "
                                   f"{'to' if add else 'from'} {changed} records.",
                          messages.SUCCESS)

    @admin.action(description="Add tag to selected records")
    def add_tag(self, request, queryset):
        return self._retag(request, queryset, add=True)

    @admin.action(description="Remove tag from selected records")
    def remove_tag(self, request, queryset):
        return self._retag(request, queryset, add=False)

    @admin.action(description="Compare selected records")
    def compare_selected(self, request, queryset):
        ids = list(queryset.values_list("db_id", flat=True)[:MAX_COMPARE + 1])
        if len(ids) > MAX_COMPARE:
            self.message_user(request, f"Select at most {MAX_COMPARE} records to compare.",
                              messages.ERROR)
            return None
        if len(ids) < 2:
            self.message_user(request, "Select at least two records to compare.",
                              messages.WARNING)
            return None
        url = reverse(f"{self.admin_site.name}:django_store_record_compare")
        return HttpResponseRedirect(f"{url}?{urlencode({'ids': ','.join(map(str, ids))})}")

    @admin.action(description="Export selected records as JSON")
    def export_json(self, request, queryset):
        return self._export(request, queryset, "json")

    @admin.action(description="Export selected records as CSV")
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    def _export(self, request, queryset, fmt):
        """The selected records as ``smt query --format json --with-parameters`` or
        ``--format csv`` prints them, in the order of the list. What cannot be
        read is named on the next page shown."""
        with page_notes(request):
            return self._export_rows(queryset, fmt)

    def _export_rows(self, queryset, fmt):
        from ..formats import write
        from ..rows import json_fields, query_rows
        labels = list(queryset.values_list("label", flat=True))
        fields = json_fields(EXPORT_FIELDS) if fmt == "json" else list(EXPORT_FIELDS)
        rows = {}
        view = self.source().view()
        for start in range(0, len(labels), EXPORT_CHUNK):
            chunk = view.filter.labels(*labels[start:start + EXPORT_CHUNK])
            for row in query_rows(chunk, fields, with_parameters=fmt == "json"):
                rows[row["label"]] = row
        columns = fields + (["parameters"] if fmt == "json" else [])
        out = io.StringIO()
        write([rows[label] for label in labels], columns, fmt, out=out)
        content_type = "application/json" if fmt == "json" else "text/csv"
        response = HttpResponse(out.getvalue(), content_type=f"{content_type}; charset=utf-8")
        name = f"{self.source().name}-records.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    # -- comparison page -------------------------------------------------------------
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [path("compare/", self.admin_site.admin_view(self.compare_view),
                     name="%s_%s_compare" % info),
                path("chart/", self.admin_site.admin_view(self.chart_view),
                     name="%s_%s_chart" % info)] + super().get_urls()

    def compare_view(self, request):
        """The ParameterComparison table of records given by ``?ids=``, with
        ``depth`` (a number or ``all``), ``fold`` and ``field`` controls."""
        return self._page(request, self._compare_page)

    def _page(self, request, build):
        """The page ``build(request)`` makes, for a user who may view records,
        with the notes of making it; an error goes back to the list, said."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied
            raise PermissionDenied
        try:
            with page_notes(request):
                response = build(request)
            return _rendered(response)
        except (QueryError, DatabaseError) as err:
            self.message_user(request, _first_line(err), messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:django_store_record_changelist"))

    def _compare_page(self, request):
        from ..compare import compare_view
        from ..params import FOLDED
        changelist = reverse(f"{self.admin_site.name}:django_store_record_changelist")
        try:
            ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip()]
            depth_text = request.GET.get("depth", "2")
            depth = None if depth_text == "all" else int(depth_text)
            if depth is not None and depth < 1:
                raise ValueError(depth_text)
        except ValueError:
            self.message_user(request, "Bad comparison address: ids are numbers, depth is a "
                                       "positive number or 'all'.", messages.ERROR)
            return HttpResponseRedirect(changelist)
        fold = request.GET.get("fold", "1") == "1"
        fields = [f for f in request.GET.getlist("field") if f in COMPARE_FIELDS]
        labels = list(self.get_queryset(request).filter(db_id__in=ids[:MAX_COMPARE])
                      .values_list("label", flat=True))
        try:
            result = compare_view(self.source().view().filter.labels(*labels),
                                  fields=fields, fold=fold)
        except QueryError as err:
            self.message_user(request, str(err), messages.ERROR)
            return HttpResponseRedirect(changelist)
        comparison = result.comparison
        table, columns, max_depth = [], [], 1
        if comparison is not None:
            keys = list(comparison.differences)
            max_depth = max([len(k.split(".")) for k in keys] or [1])
            frame = comparison.dataframe(depth=depth, max_chars=60)
            columns = list(frame.columns)
            by_label = dict(self.get_queryset(request).filter(label__in=labels)
                            .values_list("label", "db_id"))
            params = request.GET.copy()
            params["depth"] = "all" if depth is None or depth + 1 >= max_depth else depth + 1
            deeper = "?" + params.urlencode()
            for label, cells in zip(frame.index, frame.itertuples(index=False)):
                table.append({
                    "label": label,
                    "url": reverse(f"{self.admin_site.name}:django_store_record_change",
                                   args=[by_label[label]]),
                    "cells": [{"text": str(v), "folded": v is FOLDED or v == FOLDED}
                              for v in cells]})
            chart = _parallel_chart(comparison)
        else:
            deeper, chart = "", ""
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare {len(labels)} records",
            "opts": self.opts, "changelist_url": changelist,
            "table": table, "columns": columns, "deeper_url": deeper,
            "skipped": sorted(result.skipped.items()), "ids": ",".join(map(str, ids)),
            "depth": "all" if depth is None else depth,
            "depth_choices": [str(d) for d in range(1, max(max_depth, 1) + 1)] + ["all"],
            "fold": fold, "fields": fields, "field_choices": COMPARE_FIELDS,
            "n_records": len(labels), "chart": chart,
        }
        return TemplateResponse(request, "smt_query_admin/compare.html", context)

    # -- chart of the list ---------------------------------------------------------------
    def chart_view(self, request):
        """The records of the list (its conditions in the query string) as a
        server-drawn SVG chart of ``y`` against ``x`` (default: timestamp)."""
        return self._page(request, self._chart_page)

    def _chart_page(self, request):
        from django.utils.safestring import mark_safe
        from ..plot import PlotData, read_points
        from ..svg import scatter
        conditions = request.GET.copy()
        x = (conditions.pop("x", None) or ["timestamp"])[-1].strip() or "timestamp"
        y = (conditions.pop("y", None) or [""])[-1].strip()
        for key in ("p", "all"):
            conditions.pop(key, None)
        request.GET = conditions   # the list's own conditions select the records
        cl = self.get_changelist_instance(request)
        labels = list(cl.queryset.values_list("label", flat=True)[:MAX_CHART])
        chart, data = "", None
        if y:
            rows, view = [], self.source().view()
            for start in range(0, len(labels), EXPORT_CHUNK):
                rows += read_points(view.filter.labels(*labels[start:start + EXPORT_CHUNK]),
                                    [x, y])
            data = PlotData(x, y, None, rows)
            chart = mark_safe(scatter(data))   # svg.scatter escapes every text it draws
        changelist = reverse(f"{self.admin_site.name}:django_store_record_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Chart of {len(labels)} records" + (
                " (the first ones)" if len(labels) == MAX_CHART else ""),
            "opts": self.opts, "changelist_url": changelist,
            "list_url": changelist + ("?" + conditions.urlencode() if conditions else ""),
            "conditions": [(k, v) for k, values in conditions.lists() for v in values],
            "x": x, "y": y, "chart": chart, "data": data,
            "keys": ["timestamp", "duration"] + self.source().view().parameter_keys(),
        }
        return TemplateResponse(request, "smt_query_admin/chart.html", context)


def _parallel_chart(comparison):
    """Server-drawn SVG of the comparison's parallel coordinates ("" if no number differs)."""
    from django.utils.safestring import mark_safe
    from ..svg import parallel
    data = comparison.parallel_data()
    return mark_safe(parallel(data)) if data["keys"] else ""   # svg.parallel escapes its text


def _datakeys(keys):
    rows = []
    for key in keys:
        meta = getattr(key, "metadata", {}) or {}
        size = meta.get("size")
        rows.append((key.path, key.digest[:12] if key.digest else "",
                     "" if size is None else f"{size:,} bytes", meta.get("mimetype") or "",
                     key.creation.strftime("%Y-%m-%d %H:%M:%S") if key.creation else ""))
    return _table(("path", "digest", "size", "type", "created"), rows)


def _table(headers, rows):
    if not rows:
        return "—"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers)) if any(headers) else ""
    body = format_html_join("", "<tr>{}</tr>", (
        (format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows))
    return format_html('<table class="smt-table">{}{}</table>',
                       format_html("<thead><tr>{}</tr></thead>", head) if head else "", body)


def _rendered(response):
    """``response`` rendered now, so that the queries its template runs fail here."""
    if hasattr(response, "render"):
        response.render()
    return response
