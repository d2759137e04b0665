import SignalboxSQL

/// The handler functions a rules file may name, by name.
///
/// `Functions/Registry.swift` lists the built-in and user-written handlers; the runtime builds
/// one registry from that list:
/// ```swift
/// let registry = HandlerRegistry(HandlerCatalog.all)
/// registry.type(named: "persist")  // Persist.self
/// ```
package struct HandlerRegistry: Sendable {
    private let types: [String: any HandlerFunction.Type]

    /// A registry of `types`; names must be unique.
    package init(_ types: [any HandlerFunction.Type]) {
        var byName: [String: any HandlerFunction.Type] = [:]
        for type in types {
            precondition(byName[type.name] == nil, "two handler functions are named '\(type.name)'")
            byName[type.name] = type
        }
        self.types = byName
    }

    /// The handler named `name`.
    package func type(named name: String) -> (any HandlerFunction.Type)? { types[name] }

    /// Every name, sorted.
    package var names: [String] { types.keys.sorted() }

    /// Builds the handler for one action: looks its function up and lets it validate its configuration.
    ///
    /// - Throws: ``HandlerConfigError`` for an unknown function (with a suggestion) or a bad configuration.
    package func build(_ action: CompiledAction, ruleName: String, services: HandlerServices) throws(HandlerConfigError)
        -> any HandlerFunction
    {
        guard let type = types[action.function] else {
            let suggestion = Suggestion.closest(to: action.function, in: types.keys)
            let help =
                suggestion.map { "did you mean '\($0)'?" }
                ?? "the handler functions are \(names.joined(separator: ", "))"
            throw HandlerConfigError([
                action.definition.function.diagnostic(
                    "unknown-handler", "there is no handler function named '\(action.function)'", help: help,
                    ruleName: ruleName)
            ])
        }
        let config = HandlerConfig(
            raw: action.definition.with, compiled: action.config, ruleName: ruleName,
            function: action.definition.function)
        return try type.init(config: config, services: services)
    }
}

extension HandlerRegistry {
    /// Builds the handler of `action` against `services` (for checking only: `CheckingServices.make()`), so it
    /// validates its configuration as it would when the rules load in a server; returns its
    /// complaints (an unknown function, with a suggestion, or a bad setting), none when it is valid.
    package func check(_ action: CompiledAction, ruleName: String, services: HandlerServices) -> [LocatedDiagnostic] {
        do {
            _ = try build(action, ruleName: ruleName, services: services)
            return []
        } catch {
            return error.diagnostics
        }
    }
}
