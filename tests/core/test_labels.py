from devpush.core.labels import RUNNER_LABELS, RUNNER_SELECTOR_LABEL, runner_labels


def test_runner_labels_are_namespaced_and_complete() -> None:
    labels = runner_labels(project_id="p", environment_id="e", branch="main", deployment_id="d")
    assert labels == {
        "devpush.project_id": "p",
        "devpush.environment_id": "e",
        "devpush.branch": "main",
        "devpush.deployment_id": "d",
    }
    assert tuple(labels) == RUNNER_LABELS
    assert RUNNER_SELECTOR_LABEL in labels
