"""marshmallow schemas for the HTTP edge: what the JSON API accepts and returns."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cprflow.models import STATUSES


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
    status = fields.String(validate=validate.OneOf(STATUSES))
    process = fields.String(validate=validate.Length(max=200))
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
# The findings repository (cprflow.findings)


class FindingsQuery(Schema):
    q = fields.String(validate=validate.Length(max=500), metadata={"description": "words that must all appear (stemmed)"})
    theme = fields.String(validate=validate.Length(max=2000), metadata={"description": "theme ids, comma-separated; all must apply"})
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
