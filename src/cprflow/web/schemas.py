"""marshmallow schemas for the HTTP edge: what the JSON API accepts and returns."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cprflow.core.register import SORTS
from cprflow.db.models import STATUSES


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class ErrorResponse(Schema):
    error = fields.Nested(ErrorBody, required=True)


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class TokenResponse(Schema):
    token = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)


class ProcessOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    file = fields.String(allow_none=True)


class VersionOut(Schema):
    version_id = fields.Integer(required=True)
    created = fields.Boolean(required=True)
    content_hash = fields.String(required=True)
    processes = fields.List(fields.Nested(ProcessOut), required=True)
    #: Whether new reviews start on this version, which one they do start on, and what happened.
    current = fields.Boolean(required=True)
    current_version_id = fields.Integer(allow_none=True, required=True)
    message = fields.String(required=True)
    warnings = fields.List(fields.String(), dump_default=list)


class MakeCurrentRequest(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ProcessList(Schema):
    version_id = fields.Integer(allow_none=True, required=True)
    processes = fields.List(fields.Nested(ProcessOut), required=True)


class StartRequest(Schema):
    process = fields.String(required=True, validate=validate.Length(min=1, max=200))
    data = fields.Dict(keys=fields.String(), load_default=dict)


class MessageRequest(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    payload = fields.Dict(keys=fields.String(), load_default=dict)


class ReasonRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DataRequest(Schema):
    data = fields.Dict(keys=fields.String(), required=True)


class InstanceQuery(Schema):
    """The reviews register's filters (``core.register.Filters``); the API list and the page share them."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    process = fields.String(validate=validate.Length(max=200))
    review_type = fields.String(validate=validate.Length(max=200))
    stage = fields.String(validate=validate.Length(max=200))
    overdue = fields.Boolean(load_default=False)
    on_hold = fields.Boolean(load_default=False)
    year = fields.Integer(validate=validate.Range(min=1900, max=9999))
    reference = fields.String(validate=validate.Length(max=200))
    sort = fields.String(load_default="newest", validate=validate.OneOf(sorted(SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class TaskQuery(Schema):
    lane = fields.String(validate=validate.Length(max=200))
    instance = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class TaskOut(Schema):
    id = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    process_id = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    name = fields.String(required=True)
    lane = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    instructions = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    assignee = fields.String(allow_none=True)
    claimed_by = fields.String(allow_none=True)
    ready_at = fields.AwareDateTime(required=True)


class TaskList(Schema):
    tasks = fields.List(fields.Nested(TaskOut), required=True)


class TaskDetailOut(Schema):
    task = fields.Nested(TaskOut, required=True)
    schema = fields.Dict(required=True)
    ui_schema = fields.Dict(allow_none=True)
    data = fields.Dict(required=True)


class InstanceSummary(Schema):
    id = fields.Integer(required=True)
    process_id = fields.String(required=True)
    version_id = fields.Integer(required=True)
    status = fields.String(required=True)
    stage = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime(required=True)


class InstanceOut(InstanceSummary):
    timescales = fields.Raw(allow_none=True)
    holds = fields.Raw(allow_none=True)
    data = fields.Dict(required=True)
    next_timer_at = fields.AwareDateTime(allow_none=True)
    waiting_for = fields.List(fields.String(), required=True)
    error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    open_tasks = fields.List(fields.Nested(TaskOut), required=True)


class InstancePage(Schema):
    instances = fields.List(fields.Nested(InstanceSummary), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)


class EventOut(Schema):
    id = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)
    kind = fields.String(required=True)
    actor = fields.String(required=True)
    task_id = fields.String(allow_none=True)
    detail = fields.Dict(required=True)


class EventPage(Schema):
    events = fields.List(fields.Nested(EventOut), required=True)
    page = fields.Integer(required=True)


class Health(Schema):
    status = fields.String(required=True)
    reason = fields.String()


# ---------------------------------------------------------------------------------------------
# Process owners: checking edits, versions and their diffs, migrating running instances

#: Largest edited file, as the deploy check allows (processes.MAX_FILE_BYTES).
_MAX_EDIT = 2 * 1024 * 1024


class EditsRequest(Schema):
    files = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=300)),
        values=fields.String(validate=validate.Length(max=_MAX_EDIT)),
        required=True,
        validate=validate.Length(min=1, max=500),
    )


_PATH = fields.String(validate=validate.Length(min=1, max=300))


class DraftSaveRequest(Schema):
    """One file's edit, following the revision the editor last had (0: none saved yet)."""

    path = fields.String(required=True, validate=validate.Length(min=1, max=300))
    content = fields.String(required=True, validate=validate.Length(max=_MAX_EDIT))
    revision = fields.Integer(required=True, validate=validate.Range(min=0, max=2**31 - 1))


class DraftDiscardRequest(Schema):
    paths = fields.List(_PATH, required=True, validate=validate.Length(min=1, max=500))


class EditorCheckRequest(Schema):
    """The editors check the owner's saved drafts; ``files`` instead checks exactly these."""

    files = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=300)),
        values=fields.String(validate=validate.Length(max=_MAX_EDIT)),
        validate=validate.Length(min=1, max=500),
    )


class EditorDeployRequest(EditorCheckRequest):
    note = fields.String(required=True, validate=validate.Length(max=2000))
    #: {path: revision} as the page last checked them: a deploy of anything else is refused.
    revisions = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=300)),
        values=fields.Integer(validate=validate.Range(min=0, max=2**31 - 1)),
        validate=validate.Length(max=500),
    )
    #: Files another deploy changed since the draft began, which the owner deploys over knowingly.
    confirm_stale = fields.List(_PATH, load_default=list, validate=validate.Length(max=500))


class ProblemOut(Schema):
    file = fields.String(required=True)
    message = fields.String(required=True)
    element = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)


class CheckOut(Schema):
    ok = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemOut), required=True)
    content_hash = fields.String(required=True)
    same_as_version = fields.Integer(allow_none=True)


class VersionInfoOut(Schema):
    id = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    deployed_at = fields.AwareDateTime(required=True)
    deployed_by = fields.String(required=True)
    processes = fields.List(fields.Nested(ProcessOut), required=True)
    note = fields.String(allow_none=True)
    current = fields.Boolean(required=True)


class VersionInfoList(Schema):
    versions = fields.List(fields.Nested(VersionInfoOut), required=True)


class DiffQuery(Schema):
    against = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class ElementRef(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)


class ElementChange(Schema):
    aspect = fields.String(required=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class ElementChanged(ElementRef):
    changes = fields.List(fields.Nested(ElementChange), required=True)


class FileDiffOut(Schema):
    file = fields.String(required=True)
    status = fields.String(required=True)
    elements_added = fields.List(fields.Nested(ElementRef), required=True)
    elements_removed = fields.List(fields.Nested(ElementRef), required=True)
    elements_changed = fields.List(fields.Nested(ElementChanged), required=True)
    layout_changed = fields.Boolean(required=True)
    notes = fields.List(fields.String(), required=True)


class DiffOut(Schema):
    version_id = fields.Integer(required=True)
    against = fields.Integer(allow_none=True)
    files = fields.List(fields.Nested(FileDiffOut), required=True)


class MigrationPreviewOut(Schema):
    instance_id = fields.Integer(required=True)
    process_id = fields.String(required=True)
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    status = fields.String(required=True)
    movable = fields.Boolean(required=True)
    reasons = fields.List(fields.String(), required=True)
    changes = fields.Dict(required=True)


class MigrationPreviewList(Schema):
    instances = fields.List(fields.Nested(MigrationPreviewOut), required=True)


class MigrateRequest(Schema):
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class FormPreviewRequest(Schema):
    schema = fields.String(required=True, validate=validate.Length(max=_MAX_EDIT))
    ui_schema = fields.String(load_default="", validate=validate.Length(max=_MAX_EDIT))


class DocumentOut(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    slot = fields.String(required=True)
    version = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    uploaded_by = fields.String(required=True)
    uploaded_at = fields.AwareDateTime(required=True)
    has_text = fields.Boolean(required=True)
    text_status = fields.String(
        required=True,
        validate=validate.OneOf(("pending", "extracted", "none", "refused")),
        metadata={
            "description": "pending: its text is not read yet; none: it holds no text (a scan); refused: it "
            "could not be read within the time, memory or length bounds, so check it by hand"
        },
    )
    reference = fields.Dict(required=True, metadata={"description": "what a form's document field stores"})


class DocumentList(Schema):
    documents = fields.List(fields.Nested(DocumentOut), required=True)


# Audit: the event chain, traces, data fixes and the timescale report (web/audit_api.py)


class ChainBreakOut(Schema):
    chain = fields.String(required=True)
    event_id = fields.Integer(allow_none=True, required=True)
    seq = fields.Integer(allow_none=True, required=True)
    problem = fields.String(required=True, validate=validate.OneOf(("edited", "deleted", "inserted", "reordered")))
    message = fields.String(required=True)


class VerifyOut(Schema):
    ok = fields.Boolean(required=True)
    chains = fields.Integer(required=True)
    events = fields.Integer(required=True)
    broken = fields.List(fields.Nested(ChainBreakOut), required=True)
    heads = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class VerifyQuery(Schema):
    instance = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class TraceQuery(Schema):
    kind = fields.String(validate=validate.Length(max=40))
    actor = fields.String(validate=validate.Length(max=200))
    since = fields.Date()
    until = fields.Date()


class TimelineEntryOut(Schema):
    id = fields.Integer(required=True)
    at = fields.String(required=True)
    kind = fields.String(required=True)
    actor = fields.String(required=True)
    task_id = fields.String(allow_none=True)
    summary = fields.String(required=True)
    reason = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)
    changes = fields.Dict(allow_none=True)


class TraceOut(Schema):
    instance_id = fields.Integer(required=True)
    process_id = fields.String(required=True)
    version_id = fields.Integer(required=True)
    status = fields.String(required=True)
    diagram_file = fields.String(allow_none=True)
    markers = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    path = fields.List(fields.String(), required=True)
    holds = fields.List(fields.Dict(), required=True)
    timeline = fields.List(fields.Nested(TimelineEntryOut), required=True)


class DataFixRequest(Schema):
    values = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)), required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TimescaleQuery(Schema):
    as_of = fields.Date()


class ReviewTimescalesOut(Schema):
    instance_id = fields.Integer(required=True)
    board = fields.String(required=True)
    year = fields.Integer(allow_none=True)
    status = fields.String(required=True)
    referral_date = fields.String(allow_none=True)
    completion_due = fields.String(allow_none=True)
    completion_date = fields.String(allow_none=True)
    elapsed_days = fields.Integer(allow_none=True)
    elapsed_working_days = fields.Integer(allow_none=True)
    complete = fields.Boolean(required=True)
    breach = fields.Boolean(allow_none=True)
    days_late = fields.Integer(allow_none=True)
    hold_days = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    hold_days_total = fields.Integer(required=True)
    hold_days_by_hold = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    delay_reasons = fields.List(fields.String(), required=True)
    action_plan_due = fields.String(allow_none=True)
    action_plan_finalised = fields.String(allow_none=True)
    action_plan_in_time = fields.Boolean(allow_none=True)
    published_date = fields.String(allow_none=True)
    publication_period_due = fields.String(allow_none=True)
    publication_kept = fields.Boolean(allow_none=True)
    overdue_actions = fields.Integer(required=True)


class GroupTimescalesOut(Schema):
    board = fields.String(required=True)
    year = fields.Integer(allow_none=True)
    reviews = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    average_elapsed_days = fields.Float(allow_none=True)
    average_hold_days = fields.Float(allow_none=True)
    decided = fields.Integer(required=True)
    breaches = fields.Integer(required=True)
    breach_rate = fields.Float(allow_none=True)


class TimescaleReportOut(Schema):
    as_of = fields.Date(required=True)
    reviews = fields.List(fields.Nested(ReviewTimescalesOut), required=True)
    groups = fields.List(fields.Nested(GroupTimescalesOut), required=True)


# The findings repository (cprflow.features.findings)


class FindingsQuery(Schema):
    q = fields.String(
        validate=validate.Length(max=500), metadata={"description": "words that must all appear (stemmed)"}
    )
    theme = fields.String(
        validate=validate.Length(max=2000), metadata={"description": "theme ids, comma-separated; all must apply"}
    )
    board = fields.String(validate=validate.Length(max=200))
    year = fields.Integer(validate=validate.Range(min=1990, max=2200))
    review_type = fields.String(validate=validate.Length(max=60))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class LearningItemOut(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["finding", "recommendation", "action"]))
    text = fields.String(required=True)
    matched = fields.Boolean(required=True)


class FilingOut(Schema):
    board = fields.String(required=True)
    year = fields.Integer(required=True)
    review_type = fields.String(required=True)
    themes = fields.List(fields.String(), required=True)
    items = fields.List(fields.Nested(LearningItemOut), required=True)


class FindingsPage(Schema):
    results = fields.List(fields.Nested(FilingOut), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)


class ThemeOut(Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    label_cy = fields.String(required=True)


class TaxonomyOut(Schema):
    themes = fields.List(fields.Nested(ThemeOut), required=True)
    min_reviews = fields.Integer(required=True)
    min_boards = fields.Integer(required=True)


class CountOut(Schema):
    key = fields.String(required=True)
    reviews = fields.Integer(required=True)


class TrendsOut(Schema):
    theme = fields.List(fields.Nested(CountOut), required=True)
    board = fields.List(fields.Nested(CountOut), required=True)
    year = fields.List(fields.Nested(CountOut), required=True)


class RecurringQuery(Schema):
    year = fields.Integer(validate=validate.Range(min=1990, max=2200))


class RecurringOut(Schema):
    theme = fields.String(required=True)
    label = fields.String(required=True)
    label_cy = fields.String(required=True)
    year = fields.Integer(required=True)
    reviews = fields.Integer(required=True)
    boards = fields.List(fields.String(), required=True)


class RecurringList(Schema):
    recurring = fields.List(fields.Nested(RecurringOut), required=True)
    min_reviews = fields.Integer(required=True)
    min_boards = fields.Integer(required=True)


class ExportReview(Schema):
    board = fields.String(required=True)
    year = fields.Integer(required=True)
    review_type = fields.String(required=True)
    themes = fields.List(fields.String(), required=True)
    findings = fields.List(fields.String(), required=True)
    recommendations = fields.List(fields.String(), required=True)
    actions = fields.List(fields.String(), required=True)


class ExportOut(Schema):
    reviews = fields.List(fields.Nested(ExportReview), required=True)


# ---------------------------------------------------------------------------------------------
# Notifications: a person's email settings, and emails that failed or are in doubt


class NotificationSettingIn(Schema):
    email = fields.String(required=True, allow_none=True, validate=validate.Length(max=320))
    daily_digest = fields.Boolean(required=True)


class NotificationSettingOut(Schema):
    username = fields.String(required=True)
    email = fields.String(allow_none=True)
    daily_digest = fields.Boolean(required=True)


class OutboxOut(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    template = fields.String(required=True)
    recipient = fields.String(required=True)
    status = fields.String(
        required=True, metadata={"description": "failed or in_doubt (left sending by a stopped worker)"}
    )
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    sending_at = fields.AwareDateTime(allow_none=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    message_id = fields.String(required=True)


class OutboxList(Schema):
    items = fields.List(fields.Nested(OutboxOut), required=True)
