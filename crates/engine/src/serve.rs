//! `harness serve`: one case's mocks on fixed ports until Ctrl-C, for an integration the harness
//! cannot start itself (in a debugger, a container, another machine of the user's): their URLs are
//! printed with the fake test account's credentials (as the variables programs get) and the
//! trigger's headers, then each request as it arrives. Nothing is checked or written.

use std::sync::Arc;

use harness_core::Error;
use harness_mock::{ExchangeLog, MockPorts, StubHandler};
use harness_syntax::Project;
use harness_systems::{MockSetup, Registry};

use crate::plan::Case;

/// Serve `case`'s mocks, the n-th system (in the order printed) on `port_base + n`, and print through
/// `print` until interrupted.
pub fn serve(
    project: &Project,
    case: &Case,
    registry: &Registry,
    port_base: u16,
    print: &mut dyn FnMut(&str) -> Result<(), Error>,
) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    let ports = MockPorts::new(crate::runner::mock_limits(project))
        .map_err(|e| Error::Environment(format!("cannot start the mocks' thread: {e}")))?;
    let log = ExchangeLog::new();
    // Watched from before the mocks start: a request answered while the header is printed (the
    // mocks have their own thread) is still shown.
    let mut arrivals = log.arrivals();
    runtime.block_on(async {
        // Before anything is printed: whoever reads the header may stop serve at once.
        let interrupted = crate::runner::interrupted();
        tokio::pin!(interrupted);
        print(&format!("mocks of {} ({}), until Ctrl-C:\n", case.id, case.versions_label()))?;
        for (n, (id, version)) in case.systems.iter().enumerate() {
            let port = u16::try_from(usize::from(port_base) + n)
                .map_err(|_| Error::Usage(format!("--port-base {port_base} leaves no port for {id}")))?;
            let stubs = case.stubs.get(id).cloned().unwrap_or_else(|| Arc::from(Vec::new()));
            let behaviour = registry.system(id).mock(version, case.setups.get(id).unwrap_or(&MockSetup::default()));
            let handler = StubHandler::new(id.clone(), behaviour, stubs, log.clone(), false);
            let url = ports
                .serve(id, port, Arc::new(handler))
                .await
                .map_err(|e| Error::Environment(format!("cannot listen on 127.0.0.1:{port} for the {id} mock: {e}")))?;
            print(&format!("  {}_URL={url}\n  {}_VERSION={}\n", id.env_prefix(), id.env_prefix(), version.version))?;
            for (name, value) in version.credential_env() {
                print(&format!("  {name}={}\n", env_value(&value)))?;
            }
        }
        if !case.trigger.headers.is_empty() {
            // What a delivery of the scenario's trigger carries (for a webhook: its signature).
            let payload =
                case.scenario.spec.trigger.file.as_ref().map_or_else(
                    || "(inline body)".to_string(),
                    |f| format!("{}/{}", case.flow.trigger.system, f.value),
                );
            print(&format!("trigger {payload} (in the version's folder), delivered with:\n"))?;
            // The fake account's credentials above are meant to be shown; the CI's own secrets,
            // should a scenario's headers carry one, are not.
            let mask = harness_redact::SecretMask::new(crate::secrets::environment());
            for (name, value) in &case.trigger.headers {
                print(&format!("  {name}: {}\n", mask.mask(value)))?;
            }
        }
        let mut shown = 0;
        loop {
            tokio::select! {
                _ = &mut interrupted => return Ok(()),
                changed = arrivals.changed() => if changed.is_err() { return Ok(()) },
            }
            let lines: Vec<String> = log.inspect(|exchanges| {
                exchanges[shown.min(exchanges.len())..]
                    .iter()
                    .map(|e| format!("{} {} → {}\n", e.system, e.request.line(), e.response.status))
                    .collect()
            });
            shown += lines.len();
            for line in lines {
                print(&line)?;
            }
        }
    })
}

/// A value as an environment line shows it: PEM keys on one line, with `\n` for their newlines.
fn env_value(value: &str) -> String {
    if value.contains('\n') { format!("\"{}\"", value.trim_end().replace('\n', "\\n")) } else { value.to_string() }
}
