import SignalboxJSON

/// A rule's SQL, parsed and compiled once, ready to evaluate against messages.
///
/// A statement is immutable; its parts live in one shared box, so copying it costs one retain.
///
/// For example:
/// ```swift
/// let statement = try Statement("SELECT temp FROM 'devices/+/telemetry' WHERE temp > 30")
/// let message = Message(topic: "devices/f1/telemetry", payload: Array(#"{"temp": 31}"#.utf8), timestamp: 0)
/// statement.evaluate(message).output  // .json({"temp": 31})
/// ```
package struct Statement: Sendable {
    final class Storage: Sendable {
        let sql: String
        let query: Query
        let topicFilter: TopicFilter
        let compiler: Compiler
        let compiled: CompiledQuery

        init(sql: String, query: Query, topicFilter: TopicFilter, compiler: Compiler, compiled: CompiledQuery) {
            self.sql = sql
            self.query = query
            self.topicFilter = topicFilter
            self.compiler = compiler
            self.compiled = compiled
        }
    }

    let storage: Storage

    /// The SQL text as written.
    package var sql: String { storage.sql }
    /// The parsed statement.
    package var query: Query { storage.query }
    /// The FROM clause's topic filter.
    package var topicFilter: TopicFilter { storage.topicFilter }
    /// What is valid here but will not load on AWS IoT: SQL comments, which AWS IoT SQL does not
    /// have ("Comments are not currently supported"). At most one warning, at the first comment.
    package var warnings: [Diagnostic] {
        guard let first = query.comments.first else { return [] }
        let count = query.comments.count
        return [
            Diagnostic(
                "aws-comment", "AWS IoT does not accept comments in rule SQL; this rule will not load on AWS",
                at: first,
                help: count == 1
                    ? "remove the comment before moving the rule to AWS"
                    : "remove its \(count) comments before moving the rule to AWS",
                severity: .warning)
        ]
    }
    /// The compiler state (SET variables), for compiling templates against this statement.
    package var compiler: Compiler { storage.compiler }
    var compiled: CompiledQuery { storage.compiled }

    /// Parses and compiles `sql`.
    ///
    /// - Throws: ``DiagnosticList`` with every error found (all resolution errors at once; parsing
    ///   stops at the first syntax error).
    package init(_ sql: String, options: CompileOptions = CompileOptions()) throws(DiagnosticList) {
        storage = try Self.compile(sql, options: options)
    }

    static func compile(_ sql: String, options: CompileOptions) throws(DiagnosticList) -> Storage {
        let query = try Parser.parse(sql, maxDepth: options.maxDepth)
        var diagnostics: [Diagnostic] = []
        var filter: TopicFilter?
        if case .topic(let text, let range) = query.source {
            do {
                filter = try TopicFilter(text)
            } catch {
                diagnostics.append(
                    Diagnostic(
                        "topic-filter", "invalid topic filter: \(error.message)",
                        at: SourceRange(start: range.start + 1 + error.offset, end: range.end - 1)))
            }
        }
        var compiler = Compiler(options: options)
        var compiled: CompiledQuery?
        do {
            compiled = try compiler.compileQuery(query)
        } catch {
            diagnostics.append(contentsOf: error.diagnostics)
        }
        guard let filter, let compiled, diagnostics.isEmpty else {
            throw DiagnosticList(diagnostics.sorted { $0.range.start < $1.range.start })
        }
        return Storage(sql: sql, query: query, topicFilter: filter, compiler: compiler, compiled: compiled)
    }

    /// The result of evaluating a statement against one message.
    package struct Evaluation {
        /// The frame, holding the SET variables, for rendering templates.
        package let frame: EvaluationFrame
        /// The SELECT output, or nil when the WHERE clause was not `true`.
        package let output: Output?

        /// Whether the WHERE clause was `true` (or absent).
        package var matched: Bool { output != nil }
    }

    /// A new frame for evaluating this statement against `message`.
    package func makeFrame(for message: Message, services: EvaluationServices = EvaluationServices()) -> EvaluationFrame
    {
        EvaluationFrame(message: message, services: services, variableCount: compiler.variableCount)
    }

    /// Evaluates SET, WHERE and SELECT against `message`. The caller has checked the topic.
    ///
    /// - Throws: ``EvaluationError`` when evaluation fails (a shadow lookup fails, `*` cannot be
    ///   combined with a binary payload); Undefined values are not errors.
    package func evaluate(_ message: Message, services: EvaluationServices = EvaluationServices()) throws -> Evaluation
    {
        let frame = makeFrame(for: message, services: services)
        return Evaluation(frame: frame, output: try evaluate(in: frame))
    }

    /// Evaluates in `frame`; nil when WHERE is not `true`.
    ///
    /// One frame can serve every rule a message is evaluated by, one after the other: the frame is
    /// reset here (its row back to the payload, its variables to Undefined). Render templates for a
    /// rule's result before evaluating the next rule in the same frame.
    package func evaluate(in frame: EvaluationFrame) throws -> Output? {
        guard try matches(in: frame) else { return nil }
        // SELECT VALUE of Undefined is an empty payload ("Undefined serialized by itself").
        return try storage.compiled.project(frame) ?? .binary([])
    }

    /// Whether the SELECT output is always the payload exactly as received (`SELECT *` or
    /// `SELECT VALUE *`, no nested query): a caller that only needs its JSON text can skip
    /// building it, using ``matches(in:)`` and the payload bytes.
    package var selectsWholePayload: Bool {
        if case .wholePayload = storage.compiled.projection { return !storage.compiled.isNested }
        return false
    }

    /// Evaluates SET and WHERE in `frame` (reset first, as ``evaluate(in:)`` does): whether the
    /// statement produces output for the message. The frame then holds the SET variables.
    package func matches(in frame: EvaluationFrame) throws -> Bool {
        let storage = self.storage
        frame.prepare(variableCount: storage.compiler.variableCount)
        for assignment in storage.compiled.assignments {
            frame.variables[assignment.slot] = try assignment.evaluator(frame)
        }
        if let condition = storage.compiled.condition, try !condition(frame) { return false }
        return true
    }

    /// Compiles a substitution template (`"Fridge ${topic(2)} at ${temp}"`) against this
    /// statement: it sees the payload, functions and the statement's SET variables.
    package func template(_ text: String) throws(DiagnosticList) -> Template {
        try Template(text, compiler: compiler)
    }
}
