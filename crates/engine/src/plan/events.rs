//! The event a flow is triggered by, against what its system pushes at the case's version: an
//! unknown topic (`orders/creat`) would be delivered as written and pass, testing nothing.

use harness_core::{Diagnostic, did_you_mean};
use harness_flows::Flow;
use harness_syntax::Project;
use harness_syntax::scenario::ScenarioFile;
use harness_systems::{Catalog, SystemVersion};

/// Why the flow's `event:` cannot be delivered at `version`, located: at the flow's `event:` when
/// the system never sends it (a misspelling), at the scenario's version when only that version
/// does not.
pub(super) fn check(project: &Project, s: &ScenarioFile, flow: &Flow, version: &SystemVersion) -> Option<Diagnostic> {
    let event = flow.trigger.event.as_ref()?;
    let system = &version.system;
    let known = Catalog::events(version);
    if known.as_ref().is_some_and(|k| k.contains(&event.value)) {
        return None;
    }
    let listed = || format!("mocks/{system}/{}/system.yaml", version.version);
    let Some(known) = known else {
        let text = flow_text(project, flow)?;
        let message =
            format!("{} lists no events it pushes, so `event: {}` cannot be checked", version.label(), event.value);
        return Some(
            event
                .error(&flow.file, &text, message)
                .help(format!("list them under `events:` in {}, or poll it with `fetch:`", listed()))
                .relative_to(&project.root),
        );
    };
    let near = did_you_mean(&event.value, known.iter().map(String::as_str)).map(|n| format!("did you mean `{n}`?"));
    let sent_at = Catalog::event_versions(system, &event.value);
    if sent_at.is_empty() {
        let text = flow_text(project, flow)?;
        let d = event.error(&flow.file, &text, format!("`{}` is not an event {system} sends", event.value));
        let d = match near {
            Some(near) => d.label(near),
            None => d.help(format!(
                "events of {}: {}; a project adds its own under `events:` in {}",
                version.label(),
                known.iter().cloned().collect::<Vec<_>>().join(", "),
                listed()
            )),
        };
        return Some(d.relative_to(&project.root));
    }
    // The system sends it at other versions: the scenario's version is what is wrong.
    let message = format!(
        "{} sends no `{}` event (flow `{}`); it is sent at {}",
        version.label(),
        event.value,
        flow.name,
        sent_at.join(", ")
    );
    let at = s.spec.systems.get(system).map_or(s.spec.flow.span, |v| v.span_of(&s.text, &version.version));
    let d = at.diagnostic(&s.path, &s.text, message);
    let d = match near {
        Some(near) => d.help(near),
        None => d,
    };
    Some(d.relative_to(&project.root))
}

/// The flow file's text, for locating a problem in it.
fn flow_text(project: &Project, flow: &Flow) -> Option<String> {
    harness_syntax::project::read_text(&project.root, &flow.file).ok()
}
