from omr_core.structures import Problem, ProblemLog


def problem(kind, i):
    return Problem(kind, "f.json", f"annotation {i}", "bad", "dropped")


def test_log_keeps_counts_beyond_the_listed_limit():
    log = ProblemLog(max_listed=2)
    for i in range(5):
        log.add(problem("a", i))
    assert len(log) == 5 and len(log.problems) == 2 and log.count("a") == 5


def test_merge_keeps_every_count():
    first, second = ProblemLog(max_listed=3), ProblemLog(max_listed=2)
    first.add(problem("a", 0))
    for i in range(4):
        second.add(problem("a", i + 1))
    second.add(problem("b", 9))
    first.merge(second)
    assert first.count("a") == 5 and first.count("b") == 1
    assert [p.record for p in first.problems if p.kind == "a"] == ["annotation 0", "annotation 1", "annotation 2"]
    assert first.to_dict()["total"] == 6
