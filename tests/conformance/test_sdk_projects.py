"""The official SDK against the emulator: Account v3 projects (list, list_all, get)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from scaleway.account.v3 import ListProjectsRequestOrderBy
from scaleway_core.api import ScalewayException


def test_list_projects(project_api: Any, conformance_config: Any) -> None:
    page = project_api.list_projects()
    assert page.total_count == 3
    # created_at_asc by default
    assert [p.name for p in page.projects] == ["default", "conformance", "conformance-other"]
    default = page.projects[0]
    assert default.id == conformance_config.organization_id  # the default project's id = org id
    assert default.organization_id == conformance_config.organization_id
    assert default.description == ""
    assert default.qualification is not None
    assert default.qualification.architecture_type == "unknown_architecture_type"
    assert page.projects[1].description == "main conformance project"


def test_list_projects_all_and_filters(project_api: Any, conformance_config: Any) -> None:
    everything = project_api.list_projects_all(page_size=1)
    assert [p.id for p in everything] == [
        conformance_config.organization_id,
        conformance_config.project_id,
        conformance_config.other_project_id,
    ]
    by_name = project_api.list_projects(name="conformance")
    assert [p.id for p in by_name.projects] == [conformance_config.project_id]
    by_ids = project_api.list_projects(project_ids=[conformance_config.other_project_id])
    assert by_ids.total_count == 1
    desc = project_api.list_projects(order_by=ListProjectsRequestOrderBy.NAME_DESC)
    assert [p.name for p in desc.projects] == ["default", "conformance-other", "conformance"]
    past = project_api.list_projects(page=5, page_size=1)
    assert past.total_count == 3 and past.projects == []


def test_get_project(project_api: Any, conformance_config: Any) -> None:
    project = project_api.get_project(project_id=conformance_config.project_id)
    assert project.name == "conformance"
    missing = str(uuid.uuid4())
    with pytest.raises(ScalewayException) as exc:
        project_api.get_project(project_id=missing)
    assert exc.value.status_code == 404
    assert exc.value.response.json() == {
        "message": "resource is not found",
        "resource": "project_id",
        "resource_id": missing,
        "type": "not_found",
    }
    with pytest.raises(ScalewayException) as bad:
        project_api.get_project(project_id="nope")
    assert bad.value.status_code == 400


def test_other_organization_denied(make_sdk_client: Any) -> None:
    from scaleway.account.v3 import AccountV3ProjectAPI

    api = AccountV3ProjectAPI(make_sdk_client("full", default_organization_id=str(uuid.uuid4())))
    with pytest.raises(ScalewayException) as exc:
        api.list_projects()
    assert exc.value.status_code == 403
