"""SixtyfourResource: settings reach the client, and a real Dagster materialization runs a sandbox search."""

import dagster as dg
import pytest

from dagster_sixtyfour import SixtyfourClient, SixtyfourResource
from dagster_sixtyfour.errors import SixtyfourConfigError
from dagster_sixtyfour.sandbox import SandboxServer


def test_every_setting_reaches_the_client() -> None:
    resource = SixtyfourResource(
        api_key="sk-abc-123",
        base_url="http://127.0.0.1:8064/",
        request_timeout=12,
        request_max_retries=2,
        request_retry_delay=0.5,
        poll_interval=3,
        poll_timeout=90,
        page_size=25,
    )
    with resource.get_client() as client:
        assert isinstance(client, SixtyfourClient)
        assert client.base_url == "http://127.0.0.1:8064"
        assert (client.poll_interval, client.poll_timeout, client.page_size) == (3, 90, 25)
        settings = client._requester.settings
        assert (settings.max_retries, settings.retry_delay) == (2, 0.5)
        assert client._requester.http.timeout.read == 12


def test_fields_are_documented_for_the_launchpad() -> None:
    fields = SixtyfourResource.model_fields
    assert set(fields) == {
        "api_key",
        "base_url",
        "request_timeout",
        "request_max_retries",
        "request_retry_delay",
        "poll_interval",
        "poll_timeout",
        "page_size",
    }
    assert all(f.description for f in fields.values())


@pytest.mark.parametrize("bad", [{"page_size": 0}, {"page_size": 101}, {"poll_timeout": 0}, {"api_key": " "}])
def test_bad_settings_fail_with_a_clear_error(bad: dict[str, object]) -> None:
    settings: dict[str, object] = {"api_key": "sk-abc-123", "base_url": "http://127.0.0.1:1", **bad}
    with pytest.raises(SixtyfourConfigError):
        SixtyfourResource(**settings).get_client()  # type: ignore[arg-type]


def test_resource_runs_a_sandbox_search_in_a_materialization() -> None:
    with SandboxServer(seed=1) as sandbox:
        resource = SixtyfourResource(api_key=sandbox.api_key, base_url=sandbox.base_url, poll_interval=0)

        @dg.asset
        def berlin_cfos(context: dg.AssetExecutionContext, sixtyfour: SixtyfourResource) -> dg.MaterializeResult:
            with sixtyfour.get_client() as client:
                outcome = client.run_search("CFOs in Berlin", max_results=40, output_mode="query_only")
            return dg.MaterializeResult(metadata={"dagster/row_count": len(outcome.rows or [])})

        result = dg.materialize([berlin_cfos], resources={"sixtyfour": resource})
        assert result.success
        materialization = result.asset_materializations_for_node("berlin_cfos")[0]
        assert materialization.metadata["dagster/row_count"].value == 40
        assert sandbox.stats.tasks_created == 1


def test_resource_from_env_uses_the_sandbox_without_a_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from dagster_sixtyfour.sandbox.embedded import resource_from_env

    monkeypatch.delenv("SIXTYFOUR_API_KEY", raising=False)
    resource = resource_from_env()
    assert resource.base_url.startswith("http://127.0.0.1:")
    assert "embedded Sixtyfour sandbox" in caplog.text
    with resource.get_client() as client:
        assert client.start_search("CFOs in Rome", search_id="x", output_mode="query_only").task_id


def test_resource_from_env_uses_the_real_api_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_sixtyfour.sandbox.embedded import resource_from_env

    monkeypatch.setenv("SIXTYFOUR_API_KEY", "sk-live-abcdef")
    monkeypatch.setenv("SIXTYFOUR_BASE_URL", "https://api.example.test")
    resource = resource_from_env()
    assert resource.base_url == "https://api.example.test"
    assert "sk-live-abcdef" not in repr(resource)
