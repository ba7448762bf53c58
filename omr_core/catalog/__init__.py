"""The DeepScoresV2 class catalogue and the named class sets (training stages)."""

from omr_core.catalog.class_sets import (
    ALL,
    ClassSet,
    ClassSetError,
    class_set_rows,
    get_class_set,
    load_class_sets,
    parse_class_sets,
    resolve_class_sets,
    save_class_sets,
)
from omr_core.catalog.deepscores import (
    ANNOTATION_SETS,
    Category,
    all_categories,
    canonical_name,
    categories,
    group_of,
    name_to_id,
)

__all__ = [
    "ALL", "ANNOTATION_SETS", "Category", "ClassSet", "ClassSetError", "all_categories", "canonical_name",
    "categories", "class_set_rows", "get_class_set", "group_of", "load_class_sets", "name_to_id", "parse_class_sets",
    "resolve_class_sets", "save_class_sets",
]
