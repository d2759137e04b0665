import SignalboxJSON

/// A rule's SQL, parsed and compiled once, ready to evaluate against messages.
///
/// For example:
/// ```swift
/// let statement = try Statement("SELECT temp FROM 'devices/+/telemetry' WHERE temp > 30")
/// let message = Message(topic: "devices/f1/telemetry", payload: Array(#"{"temp": 31}"#.utf8), timestamp: 0)
/// statement.evaluate(message).output  // .json({"temp": 31})
/// ```
public struct Statement: Sendable {
    /// The SQL text as written.
    public let sql: String
    /// The parsed statement.
    public let query: Query
    /// The FROM clause's topic filter.
    public let topicFilter: TopicFilter
    /// The compiler state (SET variables), for compiling templates against this statement.
    public let compiler: Compiler
    let compiled: CompiledQuery

    /// Parses and compiles `sql`.
    ///
    /// - Throws: ``DiagnosticList`` with every error found (all resolution errors at once; parsing
    ///   stops at the first syntax error).
    public init(_ sql: String, options: CompileOptions = CompileOptions()) throws(DiagnosticList) {
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
        self.sql = sql
        self.query = query
        self.topicFilter = filter
        self.compiler = compiler
        self.compiled = compiled
    }

    /// The result of evaluating a statement against one message.
    public struct Evaluation {
        /// The frame, holding the SET variables, for rendering templates.
        public let frame: EvaluationFrame
        /// The SELECT output, or nil when the WHERE clause was not `true`.
        public let output: Output?

        /// Whether the WHERE clause was `true` (or absent).
        public var matched: Bool { output != nil }
    }

    /// A new frame for evaluating this statement against `message`.
    public func makeFrame(for message: Message, services: EvaluationServices = EvaluationServices()) -> EvaluationFrame
    {
        EvaluationFrame(message: message, services: services, variableCount: compiler.variableCount)
    }

    /// Evaluates SET, WHERE and SELECT against `message`. The caller has checked the topic.
    ///
    /// - Throws: ``EvaluationError`` when evaluation fails (a shadow lookup fails, `*` cannot be
    ///   combined with a binary payload); Undefined values are not errors.
    public func evaluate(_ message: Message, services: EvaluationServices = EvaluationServices()) throws -> Evaluation {
        let frame = makeFrame(for: message, services: services)
        return Evaluation(frame: frame, output: try evaluate(in: frame))
    }

    /// Evaluates in a frame made by ``makeFrame(for:services:)``; nil when WHERE is not `true`.
    public func evaluate(in frame: EvaluationFrame) throws -> Output? {
        for assignment in compiled.assignments {
            frame.variables[assignment.slot] = try assignment.evaluator(frame)
        }
        if let condition = compiled.condition {
            guard case .bool(true) = try condition(frame) else { return nil }
        }
        // SELECT VALUE of Undefined is an empty payload ("Undefined serialized by itself").
        return try compiled.project(frame) ?? .binary([])
    }

    /// Compiles a substitution template (`"Fridge ${topic(2)} at ${temp}"`) against this
    /// statement: it sees the payload, functions and the statement's SET variables.
    public func template(_ text: String) throws(DiagnosticList) -> Template {
        try Template(text, compiler: compiler)
    }
}
