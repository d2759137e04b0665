import SignalboxSQL

/// Every rule of a rules file, compiled, with a topic trie that picks the candidate rules for a topic.
///
/// Building a rule set compiles every rule's SQL (disabled rules too, so errors are caught early),
/// every string of every action's `with:` tree and every throttle key as a template against the
/// rule's statement, and checks names. It collects **all** problems of all rules before failing.
///
/// For example:
/// ```swift
/// let ruleSet = try RuleSet(document)
/// for rule in ruleSet.candidates(forTopic: "gateways/gw1/devices/f1/telemetry") { … }
/// ```
package struct RuleSet: Sendable {
    /// Every rule, disabled ones included, in file order.
    package let rules: [Rule]
    /// Enabled rules by FROM filter; elements are indexes into `rules`.
    let trie: TopicTrie<Int>
    /// Enabled rules by name, for Basic Ingest topics; values are indexes into `rules`.
    let enabledByName: [String: Int]
    /// What is valid but will not load on AWS IoT (SQL comments), in file order: `check` prints
    /// these as warnings and the file still loads.
    package let warnings: [LocatedDiagnostic]

    /// Compiles `document`.
    ///
    /// - Parameters:
    ///   - document: The rules.
    ///   - options: SQL compile options (the SQL functions available, limits).
    ///   - fileName: The name used in the thrown error's summary.
    /// - Throws: ``RulesError`` with every problem found.
    package init(_ document: RulesDocument, options: CompileOptions = CompileOptions(), fileName: String = "<rules>")
        throws(RulesError)
    {
        let (ruleSet, diagnostics) = Self.compile(document, options: options)
        guard let ruleSet else { throw RulesError(fileName: fileName, diagnostics: diagnostics) }
        self = ruleSet
    }

    private init(rules: [Rule], warnings: [LocatedDiagnostic]) {
        var trie = TopicTrie<Int>()
        var enabledByName: [String: Int] = [:]
        for rule in rules where rule.isEnabled {
            trie.insert(rule.topicFilter, rule.index)
            enabledByName[rule.name] = rule.index
        }
        self.rules = rules
        self.trie = trie
        self.enabledByName = enabledByName
        self.warnings = warnings
    }

    /// The rules a message on `topic` invokes, in file order: the enabled rules whose FROM filter
    /// matches it, or, for a Basic Ingest topic (`$aws/rules/{rule}/…`), the enabled rule named
    /// there alone, whatever its FROM filter (none when there is no such enabled rule).
    package func candidates(forTopic topic: String) -> [Rule] {
        var indexes: [Int32] = []
        collectCandidates(forTopic: topic, into: &indexes)
        return indexes.map { rules[Int($0)] }
    }

    /// Replaces the contents of `indexes` with the ``Rule/index`` of every rule a message on `topic`
    /// invokes, in file order: ``candidates(forTopic:)`` without allocating.
    package func collectCandidates(forTopic topic: String, into indexes: inout [Int32]) {
        if let routed = BasicIngestTopic(topic) {
            indexes.removeAll(keepingCapacity: true)
            if let index = enabledByName[String(routed.ruleName)] { indexes.append(Int32(index)) }
            return
        }
        trie.collectMatches(topic, into: &indexes)
        for i in indexes.indices { indexes[i] = Int32(trie.element(indexes[i])) }
    }

    /// The rule named `name`, enabled or not.
    package func rule(named name: String) -> Rule? {
        rules.first { $0.name == name }
    }

    /// The number of enabled rules.
    package var enabledCount: Int { rules.count { $0.isEnabled } }

    /// Compiles `document`, returning the rule set, or nil and every problem found.
    ///
    /// - Parameters:
    ///   - document: The rules.
    ///   - options: SQL compile options (the SQL functions available, limits).
    ///   - handlers: When given, every action's handler is built (against throwaway services) so it
    ///     checks its `with:` settings in the same pass: an action of a rule whose SQL is broken is
    ///     checked too. An action whose function name is misspelt or whose `with:` was already
    ///     reported as unreadable is not, so no problem is reported twice.
    package static func compile(
        _ document: RulesDocument, options: CompileOptions = CompileOptions(), handlers: HandlerRegistry? = nil
    ) -> (ruleSet: RuleSet?, diagnostics: [LocatedDiagnostic]) {
        var compiler = RuleCompiler(options: options, handlers: handlers)
        var rules: [Rule] = []
        for (index, definition) in document.rules.enumerated() {
            if let rule = compiler.compile(definition, index: index) { rules.append(rule) }
        }
        let diagnostics = LocatedDiagnostic.sorted(compiler.diagnostics)
        guard diagnostics.isEmpty else { return (nil, diagnostics) }
        return (RuleSet(rules: rules, warnings: LocatedDiagnostic.sorted(compiler.warnings)), [])
    }
}

/// Compiles rule definitions one by one, collecting every diagnostic.
struct RuleCompiler {
    /// SQL compile options.
    let options: CompileOptions
    /// The handlers that check each action's `with:`, if any.
    let handlers: HandlerRegistry?
    /// The services handlers are built with while checked: in memory, thrown away.
    let services: HandlerServices?
    /// Every problem found so far.
    var diagnostics: [LocatedDiagnostic] = []
    /// Every warning found so far (what will not load on AWS IoT).
    var warnings: [LocatedDiagnostic] = []
    /// The first definition of each rule name, to report duplicates.
    var namesSeen: [String: LocatedString] = [:]

    /// A compiler with no problems found yet; with `handlers`, it also checks every action's `with:`.
    init(options: CompileOptions, handlers: HandlerRegistry? = nil) {
        self.options = options
        self.handlers = handlers
        self.services = handlers.map { _ in CheckingServices.make() }
    }

    /// Compiles one rule; nil when it has problems (which are recorded).
    mutating func compile(_ definition: RuleDefinition, index: Int) -> Rule? {
        let name = definition.name.value
        checkName(definition.name)
        let statement: Statement?
        do {
            let compiled = try Statement(definition.sql.value, options: options)
            warnings += compiled.warnings.map { definition.sql.diagnostic($0, ruleName: name) }
            statement = compiled
        } catch {
            diagnostics += error.diagnostics.map { definition.sql.diagnostic($0, ruleName: name) }
            statement = nil
        }
        // When the SQL has errors, templates are still checked, against a stand-in statement with
        // the same SET variables; when it does not even parse, against one without variables, and
        // then an unknown variable is not reported (the SET that defines it may be what is broken).
        let context: TemplateContext
        if let statement {
            context = TemplateContext(statement: statement, knowsVariables: true)
        } else if let standIn = standIn(for: definition.sql.value) {
            context = TemplateContext(statement: standIn, knowsVariables: true)
        } else {
            context = TemplateContext(statement: bareStandIn, knowsVariables: false)
        }
        var actions: [CompiledAction] = []
        for (actionIndex, action) in definition.actions.enumerated() {
            if let compiled = compile(action, index: actionIndex, context: context, ruleName: name) {
                actions.append(compiled)
            }
        }
        var errorAction: CompiledAction?
        if let action = definition.errorAction {
            errorAction = compile(action, index: nil, context: context, ruleName: name)
        }
        guard let statement else { return nil }
        return Rule(
            definition: definition, index: index, statement: statement, actions: actions, errorAction: errorAction)
    }

    /// The statement templates are compiled against, and whether it defines the rule's SET variables.
    struct TemplateContext {
        let statement: Statement?
        let knowsVariables: Bool
    }

    /// `SELECT * FROM '#'`: templates of a rule whose SQL does not parse are checked against it.
    var bareStandIn: Statement? { try? Statement("SELECT * FROM '#'", options: options) }

    /// A statement that defines the same SET variables as `sql`, for checking templates when `sql`
    /// parses but does not compile; nil when it does not parse.
    func standIn(for sql: String) -> Statement? {
        guard let query = try? Parser.parse(sql, maxDepth: options.maxDepth) else { return nil }
        var names: [String] = []
        for assignment in query.assignments where !names.contains(assignment.name) { names.append(assignment.name) }
        let set = names.isEmpty ? "" : "SET " + names.map { "@\($0) = null" }.joined(separator: ", ") + " "
        return try? Statement(set + "SELECT * FROM '#'", options: options)
    }

    /// Checks a rule name's spelling, length and uniqueness.
    mutating func checkName(_ name: LocatedString) {
        let value = name.value
        if value.isEmpty {
            diagnostics.append(
                name.diagnostic("rule-name", "the rule name is empty", help: "name it, like fridge-too-warm"))
            return
        }
        if let bad = value.utf8.firstIndex(where: { !RuleName.isNameByte($0) }) {
            let offset = value.utf8.distance(from: value.utf8.startIndex, to: bad)
            let width = value[bad...].first.map { String($0).utf8.count } ?? 1
            diagnostics.append(
                name.diagnostic(
                    "rule-name", "a rule name may only contain letters, digits, '_' and '-'",
                    at: SourceRange(start: offset, end: offset + width), help: "rename it, like fridge-too-warm",
                    ruleName: value))
        } else if value.utf8.count > RuleName.maxBytes {
            diagnostics.append(
                name.diagnostic(
                    "rule-name", "the rule name is longer than \(RuleName.maxBytes) characters", ruleName: value))
        }
        if let first = namesSeen[value] {
            let line = first.span.location.line
            diagnostics.append(
                name.diagnostic(
                    "duplicate-rule", "there is already a rule named '\(value)'",
                    help: "rule names must be unique; the first is on line \(line)", ruleName: value))
        } else {
            namesSeen[value] = name
        }
    }

    /// Whether `byte` may appear in a handler function name: `[a-z0-9-]`.
    static func isFunctionNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): true
        default: false
        }
    }

    /// Checks the structure of a handler function name (the registry checks that it exists).
    mutating func checkFunctionName(_ function: LocatedString, ruleName: String) {
        let value = function.value
        if value.isEmpty {
            diagnostics.append(
                function.diagnostic(
                    "function-name", "the handler function name is empty", help: "name a handler, like persist",
                    ruleName: ruleName))
        } else if !value.utf8.allSatisfy(Self.isFunctionNameByte) {
            let lowered = String(value.lowercased().map { $0 == "_" ? "-" : $0 })
            let help =
                lowered.utf8.allSatisfy(Self.isFunctionNameByte)
                ? "did you mean '\(lowered)'?" : "handler names use lowercase letters, digits and '-'"
            diagnostics.append(
                function.diagnostic(
                    "function-name", "invalid handler function name", help: help, ruleName: ruleName))
        }
    }

    /// Checks an action, compiles its templates and, with ``handlers``, lets its handler check its
    /// `with:`; nil when it has problems (which are recorded).
    ///
    /// A template that does not compile is reported and stands as a non-constant template in what
    /// the handler sees, so the handler still checks every other setting (and treats that one as
    /// a template, as written).
    mutating func compile(_ action: ActionDefinition, index: Int?, context: TemplateContext, ruleName: String)
        -> CompiledAction?
    {
        let before = diagnostics.count
        checkFunctionName(action.function, ruleName: ruleName)
        let nameIsValid = diagnostics.count == before
        guard let statement = context.statement else { return nil }
        let templates = TemplateCompilation(
            statement: statement, placeholder: Self.placeholder(in: statement), knowsVariables: context.knowsVariables,
            ruleName: ruleName)
        let config = templates.compileTree(action.with, into: &diagnostics)
        var throttleKey: Template?
        if let key = action.throttle?.key {
            throttleKey = templates.compileTemplate(key, into: &diagnostics)
        }
        let compiled = CompiledAction(definition: action, index: index, config: config, throttleKey: throttleKey)
        if let handlers, let services, nameIsValid, action.isConfigReadable {
            diagnostics += handlers.check(compiled, ruleName: ruleName, services: services)
        }
        guard diagnostics.count == before else { return nil }
        return compiled
    }

    /// `${null}`: what stands for a template that does not compile while the handler checks its settings.
    static func placeholder(in statement: Statement) -> Template? {
        try? statement.template("${null}")
    }
}

/// Compiles the strings of one action's `with:` tree (and its throttle key) as templates.
struct TemplateCompilation {
    /// The rule's statement, or a stand-in.
    let statement: Statement
    /// What a template that fails stands as.
    let placeholder: Template?
    /// Whether `statement` defines the rule's SET variables; when not, unknown variables are not reported.
    let knowsVariables: Bool
    /// The rule, named in diagnostics.
    let ruleName: String

    /// Compiles every string of a `with:` tree as a template; a string that fails is reported in
    /// `diagnostics` and stands as ``placeholder``.
    func compileTree(_ value: ConfigValue, into diagnostics: inout [LocatedDiagnostic]) -> TemplateValue {
        switch value.kind {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let string):
            guard let template = compileTemplate(string, into: &diagnostics) ?? placeholder else { return .null }
            return .string(template)
        case .array(let items):
            return .array(items.map { compileTree($0, into: &diagnostics) })
        case .map(let entries):
            return .object(entries.map { ($0.key.value, compileTree($0.value, into: &diagnostics)) })
        }
    }

    /// Compiles one string as a template; nil when it fails (reported in `diagnostics`). A
    /// substituted environment value may not contain `${`, because the template would read it as an
    /// expression.
    func compileTemplate(_ string: LocatedString, into diagnostics: inout [LocatedDiagnostic]) -> Template? {
        for substitution in string.substitutions {
            let bytes = Array(string.value.utf8)[substitution.valueRange.start..<substitution.valueRange.end]
            if bytes.firstRange(of: Array("${".utf8)) != nil {
                diagnostics.append(
                    LocatedDiagnostic(
                        Diagnostic(
                            "env", "the value of environment variable '\(substitution.variable)' contains '${'",
                            at: substitution.sourceRange, help: "templates would read it as an expression"),
                        source: string.source, ruleName: ruleName))
                return nil
            }
        }
        do {
            return try statement.template(string.value)
        } catch {
            let reported = error.diagnostics.filter { knowsVariables || $0.code != "unknown-variable" }
            diagnostics += reported.map { string.diagnostic($0, ruleName: ruleName) }
            return nil
        }
    }
}
