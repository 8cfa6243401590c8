"""Values offered by shell completion (read from the current project)."""


def tags():
    from ..view import RecordStoreView
    return RecordStoreView().tag_names()


def saved():
    from ..query import saved_queries
    return ["@" + name for name in saved_queries()]


def keys():
    from ..view import RecordStoreView
    return RecordStoreView().parameter_keys()
