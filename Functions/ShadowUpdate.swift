import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// `shadow-update`: merges the SELECT output into a device shadow's reported (or desired) state,
/// as a Device Shadow update request `{"state": {"reported": OUTPUT}}` would.
///
/// ```yaml
/// - function: shadow-update
///   with: { thing: "${topic(4)}", state: reported }
/// ```
///
/// The merge follows the shadow service's rules: keys in the output replace the stored ones,
/// nested objects merge, `null` deletes a key, arrays replace. The output must be a JSON object.
/// `document:` (a mapping, its strings templates) is sent instead of the output when written.
/// Rejections of the request itself (bad thing name, document too large or too deep) fail for
/// good; other shadow service failures are retried.
struct ShadowUpdate: HandlerFunction {
    static let name = "shadow-update"

    /// Which section of the shadow's state is written.
    let section: String
    /// Whether `document:` replaces the output.
    let usesDocument: Bool
    /// The shadow service.
    let shadows: any ShadowDocuments

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["thing", "shadow", "state", "document"])
        try config.requireKeys(["thing"])
        _ = try config.isString("thing")
        _ = try config.isString("shadow")
        let section = try config.constantString("state") ?? "reported"
        guard section == "reported" || section == "desired" else {
            let help = Suggestion.closest(to: section, in: ["reported", "desired"]).map { "did you mean '\($0)'?" }
            throw config.error(at: "state", "'state' must be reported or desired", help: help)
        }
        if let document = config.value("document"), document.entries == nil {
            throw config.error(
                at: "document", "'document' must be a mapping, found \(document.kindDescription)",
                help: "write the keys to set, for example { temp: \"${temp}\" }")
        }
        let limits = services.shadows.limits
        for key in ["thing", "shadow"] {
            guard case .string(let template)? = config.template(key), template.isConstant,
                let name = config.value(key)?.string
            else { continue }
            let shadowKey = key == "thing" ? ShadowKey(thing: name) : ShadowKey(thing: "t", name: name)
            do {
                try shadowKey.validate(limits)
            } catch {
                throw config.error(at: key, error.message)
            }
        }
        self.section = section
        self.usesDocument = config.value("document") != nil
        self.shadows = services.shadows
    }

    func invoke(_ invocation: Invocation) async throws {
        guard case .string(let thing)? = invocation.config["thing"], !thing.isEmpty else {
            throw PermanentHandlerError("shadow-update: 'thing' rendered empty, so there is no shadow to update")
        }
        var name: String?
        if let shadow = invocation.config["shadow"] {
            guard case .string(let rendered) = shadow, !rendered.isEmpty else {
                throw PermanentHandlerError(
                    "shadow-update: 'shadow' rendered empty; leave it out for the classic shadow")
            }
            name = rendered
        }
        let state: Value
        if usesDocument, let document = invocation.config["document"] {
            state = document
        } else if case .json(let output) = invocation.output {
            state = output
        } else {
            throw PermanentHandlerError("shadow-update: the SELECT output is binary, not a JSON object")
        }
        guard case .object = state else {
            throw PermanentHandlerError(
                "shadow-update: the \(usesDocument ? "document" : "SELECT output") must be a JSON object, "
                    + "found \(state.jsonTypeName)")
        }
        let request: Value = ["state": .object([section: state])]
        do {
            _ = try await shadows.update(ShadowKey(thing: thing, name: name), body: JSONSerializer.bytes(request))
        } catch {
            let status = error.code.rawValue
            if (400..<500).contains(status) && error.code != .tooManyRequests {
                throw PermanentHandlerError("shadow-update: the shadow service refused the update: \(error)")
            }
            throw error
        }
    }
}
