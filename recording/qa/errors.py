"""Errors of the QA and audio-analytics package::

    HotlineError
     └── QaError
          ├── FormNotFound          (no QA form by that name; 404)
          ├── ScoringError          (answers that do not fit the form; 422)
          ├── SamplingError         (bad period, no evaluators, period already sampled; 400/409)
          ├── NotFound              (unknown recording, evaluation or calibration session; 404)
          ├── ConflictError         (the thing exists already; 409)
          └── AnalyticsError        (a WAV file that cannot be read or analysed; 422)
"""

from __future__ import annotations

from hotline.errors import HotlineError


class QaError(HotlineError):
    """Root of the QA errors."""

    error_id = "qa_error"
    status = 400


class FormNotFound(QaError):
    error_id = "qa_form_not_found"
    status = 404


class ScoringError(QaError):
    error_id = "qa_invalid_answers"
    status = 422


class SamplingError(QaError):
    error_id = "qa_sampling_error"
    status = 400


class NotFound(QaError):
    error_id = "qa_not_found"
    status = 404


class ConflictError(QaError):
    error_id = "qa_conflict"
    status = 409


class AnalyticsError(QaError):
    error_id = "audio_analytics_error"
    status = 422
