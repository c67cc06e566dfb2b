"""The formats a review is served in, apart from the renderers so that serving needs no chart or PDF library
until a review is asked for."""

from enum import StrEnum


class ReviewFormat(StrEnum):
    MD = "md"
    HTML = "html"
    PDF = "pdf"
    JSON = "json"
    CSV = "csv"


MEDIA_TYPES = {ReviewFormat.MD: "text/markdown; charset=utf-8", ReviewFormat.HTML: "text/html; charset=utf-8",
               ReviewFormat.PDF: "application/pdf", ReviewFormat.JSON: "application/json",
               ReviewFormat.CSV: "text/csv; charset=utf-8"}
