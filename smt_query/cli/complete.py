"""Values offered by shell completion (read from the current project)."""


def tags():
    """The project's tags, written as ``--tag`` reads them literally (``fig[*]``)."""
    from ..filters import literal_tag
    from ..view import RecordStoreView
    return [literal_tag(t) for t in RecordStoreView().tag_names()]


def saved():
    from ..query import saved_queries
    return ["@" + name for name in saved_queries()]


def keys():
    from ..view import RecordStoreView
    return RecordStoreView().parameter_keys()
