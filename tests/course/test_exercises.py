import pytest

from facecourse.course.exercises import ExerciseError, check, make_exercise


def _nb(*sources):
    return {"cells": [{"cell_type": "code", "source": s, "metadata": {}, "outputs": [1],
                       "execution_count": 3} for s in sources], "metadata": {}}


def test_solution_block_becomes_stub_at_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\nprint(f)"
    out = make_exercise(_nb(src))["cells"][0]
    assert out["source"] == ("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
                             "print(f)")
    assert out["outputs"] == [] and out["execution_count"] is None


def test_unbalanced_markers_name_the_cell():
    with pytest.raises(ValueError, match=r"nb\.ipynb, cell 1: ### BEGIN SOLUTION is never closed"):
        make_exercise(_nb("x = 1", "### BEGIN SOLUTION\nx = 2"), "nb.ipynb")
    with pytest.raises(ValueError, match=r"cell 0, line 1: ### END SOLUTION without"):
        make_exercise(_nb("### END SOLUTION"))


def test_check_turns_stub_and_wrong_answer_into_clear_messages(capsys):
    with pytest.raises(ExerciseError, match=r"softmax: not done yet .*YOUR CODE HERE.*Hint: use"):
        with check("softmax", hint="use logsumexp"):
            raise NotImplementedError()
    with pytest.raises(ExerciseError, match=r"softmax: not right yet — 1 != 2"):
        with check("softmax"):
            assert 1 == 2, "1 != 2"
    with check("softmax"):
        pass
    assert "correct" in capsys.readouterr().out
