import Foundation
import SignalboxCore
import SignalboxSQL
import Yams

/// Loads a rules file: reads it, parses the YAML, substitutes `${env:…}`, decodes the rules,
/// compiles them into a ``RuleSet`` and, with ``handlers``, lets each action's handler check its
/// settings. Every problem of every stage is reported at once, in file order.
///
/// For example:
/// ```swift
/// let loaded = try RulesLoader().load(path: "rules.yaml")
/// loaded.ruleSet.candidates(forTopic: "gateways/gw1/devices/f1/telemetry")
/// ```
package struct RulesLoader: Sendable {
    /// The environment `${env:NAME}` reads.
    package var environment: [String: String]
    /// SQL compile options (the SQL functions available, limits).
    package var compileOptions: CompileOptions

    /// The handler functions that check each action's `with:` in the same pass; nil checks the file
    /// without them (an unknown handler or a bad setting is then not found).
    package var handlers: HandlerRegistry?

    /// A loader; by default it reads the process environment, compiles with every built-in SQL
    /// function and checks no handler settings.
    package init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        compileOptions: CompileOptions = CompileOptions(), handlers: HandlerRegistry? = nil
    ) {
        self.environment = environment
        self.compileOptions = compileOptions
        self.handlers = handlers
    }

    /// Loads the rules file at `path` with the process environment.
    ///
    /// - Throws: ``RulesError`` with every problem found.
    package static func load(path: String) throws(RulesError) -> LoadedRules {
        try RulesLoader().load(path: path)
    }

    /// Loads the rules file at `path`; diagnostics name the file as `path` is written.
    ///
    /// - Throws: ``RulesError`` with every problem found (or the reason the file cannot be read).
    package func load(path: String) throws(RulesError) -> LoadedRules {
        try load(yaml: try Self.read(path: path), name: path)
    }

    /// Loads rules from `yaml`, naming the file `name` in diagnostics.
    ///
    /// - Throws: ``RulesError`` with every problem found.
    package func load(yaml: String, name: String) throws(RulesError) -> LoadedRules {
        let (document, decodeDiagnostics) = decode(yaml: yaml, name: name)
        guard let document else { throw RulesError(fileName: name, diagnostics: decodeDiagnostics) }
        let (ruleSet, compileDiagnostics) = RuleSet.compile(document, options: compileOptions, handlers: handlers)
        guard let ruleSet, decodeDiagnostics.isEmpty else {
            throw RulesError(fileName: name, diagnostics: decodeDiagnostics + compileDiagnostics)
        }
        return LoadedRules(fileName: name, document: document, ruleSet: ruleSet)
    }

    /// Parses and decodes `yaml` without compiling: the document (nil when the YAML itself is
    /// invalid) and the problems found so far.
    package func decode(yaml: String, name: String) -> (document: RulesDocument?, diagnostics: [LocatedDiagnostic]) {
        let file = SourceFile(name: name, text: yaml)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml, Resolver.basic, Constructor.default, .utf8)
        } catch {
            return (nil, [Self.diagnostic(for: error, in: file, yaml: yaml)])
        }
        var decoder = RulesFileDecoder(file: file, environment: environment)
        let document = decoder.decodeDocument(root)
        return (document, decoder.diagnostics)
    }

    /// Checks the rules file at `path` as `signalbox check` does: the text to print and whether the
    /// file is valid.
    ///
    /// A valid file prints one line, `rules.yaml: 4 rules, 6 actions — OK`, after its warnings (what
    /// will not load on AWS IoT), each followed by a blank line; an invalid one prints every
    /// diagnostic, each followed by a blank line, then `error: rules.yaml has 3 errors`.
    package func check(path: String) -> (output: String, isValid: Bool) {
        Self.report { () throws(RulesError) in try load(path: path) }
    }

    /// Checks rules given as text, named `name`, with the same output as ``check(path:)``.
    package func check(yaml: String, name: String) -> (output: String, isValid: Bool) {
        Self.report { () throws(RulesError) in try load(yaml: yaml, name: name) }
    }

    /// Runs `load` and formats the outcome as `signalbox check` prints it.
    static func report(_ load: () throws(RulesError) -> LoadedRules) -> (output: String, isValid: Bool) {
        do {
            let loaded = try load()
            let warnings = loaded.ruleSet.warnings.map { $0.rendered() + "\n" }.joined()
            return (warnings + loaded.summary + "\n", true)
        } catch {
            return (error.report, false)
        }
    }

    // MARK: Reading

    /// The text of the file at `path`, or an error saying why it cannot be read.
    package static func read(path: String) throws(RulesError) -> String {
        let failure = { (reason: String, help: String?) -> RulesError in
            RulesError(
                fileName: path,
                diagnostics: [
                    LocatedDiagnostic(
                        Diagnostic("file", "cannot read '\(path)': \(reason)", at: SourceRange(at: 0), help: help),
                        source: nil)
                ])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("no such file", "pass the rules file's path, like 'signalbox check config/rules.yaml'")
        }
        if isDirectory.boolValue { throw failure("it is a directory", nil) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("permission denied or unreadable", nil)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw failure("it is not UTF-8 text", nil) }
        return text
    }

    // MARK: YAML errors

    /// A diagnostic for a YAML parse error, at its line and column.
    static func diagnostic(for error: any Error, in file: SourceFile, yaml: String) -> LocatedDiagnostic {
        guard let error = error as? YamlError else {
            return LocatedDiagnostic(Diagnostic("yaml", "invalid YAML", at: SourceRange(at: 0)), source: nil)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var help = context.flatMap {
                $0.mark.line == mark.line ? nil : "\($0.text) starting on line \($0.mark.line)"
            }
            if problem == "mapping values are not allowed in this context", help == nil {
                help = "': ' in a plain value starts a mapping; quote the value or use a block scalar (>-)"
            }
            return file.span(line: mark.line, scalarColumn: mark.column).diagnostic(
                "yaml", "invalid YAML: \(problem)", help: help)
        case .reader(let problem, let offset, _, _):
            let (line, column) = position(ofCharacter: offset ?? 0, in: yaml)
            return file.span(line: line, column: column).diagnostic("yaml", "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = (
                line: context.mark.line,
                column: file.characterColumn(line: context.mark.line, scalarColumn: context.mark.column)
            )
            guard let repeated = repeatedKey(key, after: first, in: file) else {
                return file.span(line: first.line, column: first.column, length: key.count).diagnostic(
                    "duplicate-key", "the key '\(key)' appears more than once in this mapping",
                    help: "each key may appear once")
            }
            return file.span(line: repeated.line, column: repeated.column, length: key.count).diagnostic(
                "duplicate-key", "duplicate key '\(key)'", help: "it is already set on line \(first.line)")
        default:
            return LocatedDiagnostic(
                Diagnostic("yaml", "invalid YAML: \(error)", at: SourceRange(at: 0)), source: nil)
        }
    }

    /// Where `key`, first written at `first`, is written again in the same block mapping: a later
    /// line with `key:` at the same column, before the mapping ends (a line that starts further left).
    static func repeatedKey(_ key: String, after first: (line: Int, column: Int), in file: SourceFile)
        -> (line: Int, column: Int)?
    {
        guard !key.isEmpty else { return nil }
        var line = first.line + 1
        while line <= file.lines.count {
            let characters = file.characters(line: line)
            defer { line += 1 }
            guard let start = characters.firstIndex(where: { $0 != " " }), characters[start] != "#" else { continue }
            if start < first.column - 1 { return nil }
            guard start == first.column - 1 else { continue }
            let rest = String(characters[start...])
            if rest.hasPrefix(key), rest.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":") {
                return (line, first.column)
            }
        }
        return nil
    }

    /// Line and column (1-based) of the character at `offset` (counted in characters).
    static func position(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character.isNewline {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}

/// A rules file, loaded and compiled.
package struct LoadedRules: Sendable {
    /// The file's name as given.
    package let fileName: String
    /// The rules as written.
    package let document: RulesDocument
    /// The compiled rules.
    package let ruleSet: RuleSet

    /// The number of rules, disabled ones included.
    package var ruleCount: Int { document.rules.count }
    /// The number of disabled rules.
    package var disabledCount: Int { document.rules.count { !$0.enabled } }
    /// The number of actions in all rules (error actions not counted).
    package var actionCount: Int { document.rules.reduce(0) { $0 + $1.actions.count } }

    /// `rules.yaml: 4 rules, 6 actions — OK` (with `(1 disabled)` after the rule count when some are).
    package var summary: String {
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let disabled = disabledCount > 0 ? " (\(disabledCount) disabled)" : ""
        return "\(fileName): \(plural(ruleCount, "rule"))\(disabled), \(plural(actionCount, "action")) — OK"
    }
}
