import SignalboxJSON

/// A compiled expression: evaluates against a frame; `nil` is Undefined.
package typealias Evaluator = @Sendable (EvaluationFrame) throws -> Value?

/// A compiled condition: whether it holds for the frame.
typealias Predicate = @Sendable (EvaluationFrame) throws -> Bool

/// Options for compiling rule SQL.
package struct CompileOptions: Sendable {
    /// The SQL functions expressions may call, keyed by lowercased name.
    package var functions: [String: BuiltinFunction]
    /// The deepest expression nesting accepted.
    package var maxDepth: Int
    /// The most SET variables a statement may define (AWS: 10).
    package var maxVariables: Int

    package init(
        functions: [String: BuiltinFunction] = BuiltinFunctions.all, maxDepth: Int = Parser.defaultMaxDepth,
        maxVariables: Int = 10
    ) {
        self.functions = functions
        self.maxDepth = maxDepth
        self.maxVariables = maxVariables
    }
}

/// Resolves names in a parsed statement and builds closures, collecting every error.
///
/// One compiler serves a statement and everything compiled against it later (substitution
/// templates, the parts of a WHERE clause that `signalbox test` explains), because they share the
/// statement's SET variables.
package struct Compiler: Sendable {
    let options: CompileOptions
    /// Slot of every SET variable, by name.
    package private(set) var variableSlots: [String: Int] = [:]
    /// Variables visible at the current point (SET assignments see only earlier ones).
    var visibleVariables: Int = 0
    var diagnostics: [Diagnostic] = []
    /// How many nested queries deep the expression being compiled is (0: the statement itself,
    /// where attribute names refer to the payload).
    var nestingDepth = 0

    package init(options: CompileOptions = CompileOptions()) {
        self.options = options
    }

    /// How many variable slots a frame needs.
    package var variableCount: Int { variableSlots.count }

    // MARK: Entry points

    /// Compiles a standalone expression against the variables defined so far.
    package mutating func compile(_ expr: Expr) throws(DiagnosticList) -> Evaluator {
        diagnostics = []
        let evaluator = compileExpr(expr)
        if !diagnostics.isEmpty { throw DiagnosticList(diagnostics) }
        return evaluator.closure
    }

    /// Compiles a whole query (SET, SELECT, WHERE).
    mutating func compileQuery(_ query: Query) throws(DiagnosticList) -> CompiledQuery {
        diagnostics = []
        var assignments: [(slot: Int, evaluator: Evaluator)] = []
        for assignment in query.assignments {
            if assignment.name.count > 64 {
                diagnostics.append(
                    Diagnostic(
                        "variable", "variable name longer than 64 characters", at: assignment.nameRange))
            }
            if variableSlots[assignment.name] != nil {
                diagnostics.append(
                    Diagnostic(
                        "variable", "variable '@\(assignment.name)' is assigned twice", at: assignment.nameRange,
                        help: "SET variables are immutable; use another name"))
                continue
            }
            let value = compileExpr(assignment.value)
            let slot = variableSlots.count
            variableSlots[assignment.name] = slot
            visibleVariables = variableSlots.count
            assignments.append((slot, value.closure))
        }
        if variableSlots.count > options.maxVariables,
            let extra = query.assignments.dropFirst(options.maxVariables).first
        {
            diagnostics.append(
                Diagnostic(
                    "variable", "more than \(options.maxVariables) SET variables", at: extra.nameRange,
                    help: "a statement may define at most \(options.maxVariables) variables"))
        }
        let compiled = compileBody(query, assignments: assignments)
        if !diagnostics.isEmpty { throw DiagnosticList(diagnostics) }
        return compiled
    }

    mutating func compileBody(_ query: Query, assignments: [(slot: Int, evaluator: Evaluator)]) -> CompiledQuery {
        var condition: Predicate?
        if let expr = query.condition { condition = compileCondition(expr, wantsBoolean: true) }
        let projection: CompiledQuery.Projection
        switch query.projection {
        case .value(let expr):
            if case .wildcard = expr.kind {
                projection = .wholePayload
            } else {
                projection = .value(compileExpr(expr).closure)
            }
        case .items(let items):
            if items.count == 1, case .wildcard = items[0] {
                projection = .wholePayload
            } else {
                var compiled: [CompiledQuery.Item] = []
                for (position, item) in items.enumerated() {
                    switch item {
                    case .wildcard(let range): compiled.append(.wildcard(range))
                    case .expression(let expr, let alias, _):
                        let path = alias ?? [Self.defaultName(for: expr, position: position + 1)]
                        compiled.append(.named(path, compileExpr(expr).closure))
                    }
                }
                // Distinct single names and no `*`: every item appends a new key.
                var names = Set<String>()
                let distinct = compiled.allSatisfy { item in
                    guard case .named(let path, _) = item, path.count == 1 else { return false }
                    return names.insert(path[0]).inserted
                }
                projection = .object(compiled, distinctNames: distinct)
            }
        }
        return CompiledQuery(
            assignments: assignments, condition: condition, projection: projection, isNested: nestingDepth > 0)
    }

    /// The output key of an unaliased SELECT item: an attribute's or path's last name, a
    /// variable's name, a function's name; `_N` (N = position in the list) for anything else.
    package static func defaultName(for expr: Expr, position: Int) -> String {
        switch expr.kind {
        case .attribute(let name), .variable(let name), .member(_, let name): return name
        case .call(let name, _, _): return name
        case .cast(let inner, _): return defaultName(for: inner, position: position)
        default: return "_\(position)"
        }
    }

    // MARK: Expressions

    /// A compiled expression and, when it is constant, its value.
    struct Compiled {
        var closure: Evaluator
        var constant: Value??

        static func constant(_ value: Value?) -> Compiled {
            Compiled(closure: { _ in value }, constant: .some(value))
        }

        static func dynamic(_ closure: @escaping Evaluator) -> Compiled {
            Compiled(closure: closure, constant: nil)
        }
    }

    mutating func compileExpr(_ expr: Expr) -> Compiled {
        switch expr.kind {
        case .literal(let value):
            return .constant(value)

        case .attribute(let name):
            return .dynamic(attributeReader(name))

        case .variable(let name):
            guard let slot = variableSlots[name], slot < visibleVariables else {
                let known = variableSlots.filter { $0.value < visibleVariables }.map { "@" + $0.key }
                let suggestion = Suggestion.closest(to: "@" + name, in: known)
                diagnostics.append(
                    Diagnostic(
                        "unknown-variable", "unknown variable '@\(name)'", at: expr.range,
                        help: suggestion.map { "did you mean '\($0)'?" }
                            ?? (variableSlots[name] != nil
                                ? "'@\(name)' is set later; a SET assignment sees only variables set before it"
                                : "define it with SET @\(name) = … before SELECT")))
                return .constant(nil)
            }
            return .dynamic { frame in frame.variables[slot] }

        case .wildcard:
            if nestingDepth > 0 { return .dynamic { frame in frame.row } }
            return .dynamic { frame in frame.payloadValue }

        case .member(let base, let name):
            let compiledBase = compileExpr(base)
            if let constant = compiledBase.constant { return .constant(Self.member(constant, name)) }
            let baseClosure = compiledBase.closure
            return .dynamic { frame in
                if case .object(let object) = try baseClosure(frame) { return object[name] }
                return nil
            }

        case .index(let base, let index):
            let b = compileExpr(base)
            let i = compileExpr(index)
            if let bc = b.constant, let ic = i.constant { return .constant(Self.element(bc, ic)) }
            let bClosure = b.closure
            let iClosure = i.closure
            return .dynamic { frame in Self.element(try bClosure(frame), try iClosure(frame)) }

        case .unary(let op, let operand):
            let o = compileExpr(operand)
            let function: @Sendable (Value?) -> Value? =
                switch op {
                case .not: Operators.not
                case .negate: Operators.negate
                case .plus: { Conversions.isNumber($0) ? $0 : Conversions.toDecimal($0).map(Value.double) }
                }
            if let constant = o.constant { return .constant(function(constant)) }
            let closure = o.closure
            return .dynamic { frame in function(try closure(frame)) }

        case .binary(let op, let lhs, let rhs):
            return compileBinary(op, lhs, rhs)

        case .inList(let lhs, let rhs, let negated):
            let l = compileExpr(lhs)
            let r = compileExpr(rhs)
            let function: @Sendable (Value?, Value?) -> Value? = { a, b in
                let result = Operators.isIn(a, b)
                return negated ? Operators.not(result) : result
            }
            if let lc = l.constant, let rc = r.constant { return .constant(function(lc, rc)) }
            let lClosure = l.closure
            let rClosure = r.closure
            return .dynamic { frame in function(try lClosure(frame), try rClosure(frame)) }

        case .cast(let inner, let type):
            let i = compileExpr(inner)
            if let constant = i.constant { return .constant(Cast.apply(constant, to: type)) }
            let closure = i.closure
            return .dynamic { frame in Cast.apply(try closure(frame), to: type) }

        case .call(let name, let nameRange, let arguments):
            return compileCall(name: name, nameRange: nameRange, arguments: arguments, range: expr.range)

        case .array(let elements):
            let compiled = elements.map { compileExpr($0) }
            if compiled.allSatisfy({ $0.constant != nil }) {
                return .constant(.array(compiled.compactMap { $0.constant! }))  // all constant: checked above
            }
            let closures = compiled.map(\.closure)
            return .dynamic { frame in
                var array: [Value] = []
                array.reserveCapacity(closures.count)
                for closure in closures {
                    if let value = try closure(frame) { array.append(value) }
                }
                return .array(array)
            }

        case .object(let members):
            let compiled = members.map { (key: $0.key, value: compileExpr($0.value)) }
            if compiled.allSatisfy({ $0.value.constant != nil }) {
                var object = JSONObject(minimumCapacity: compiled.count)
                for member in compiled {
                    if let value = member.value.constant! { object[member.key] = value }  // constant: checked above
                }
                return .constant(.object(object))
            }
            let closures = compiled.map { (key: $0.key, closure: $0.value.closure) }
            return .dynamic { frame in
                var object = JSONObject(minimumCapacity: closures.count)
                for member in closures {
                    if let value = try member.closure(frame) { object[member.key] = value }
                }
                return .object(object)
            }

        case .caseWhen(let subject, let whens, let otherwise):
            var subjectClosure: Evaluator?
            if let subject { subjectClosure = compileExpr(subject).closure }
            var compiledClauses: [(condition: Evaluator, result: Evaluator)] = []
            for when in whens {
                compiledClauses.append((compileExpr(when.condition).closure, compileExpr(when.result).closure))
            }
            var compiledElse: Evaluator?
            if let otherwise { compiledElse = compileExpr(otherwise).closure }
            let clauses = compiledClauses
            let elseClosure = compiledElse
            if let s = subjectClosure {
                return .dynamic { frame in
                    guard let value = try s(frame) else { return nil }
                    for clause in clauses {
                        if let candidate = try clause.condition(frame), Operators.equals(value, candidate) {
                            return try clause.result(frame)
                        }
                    }
                    return try elseClosure?(frame)
                }
            }
            return .dynamic { frame in
                for clause in clauses {
                    if case .bool(true) = try clause.condition(frame) { return try clause.result(frame) }
                }
                return try elseClosure?(frame)
            }

        case .subquery(let query):
            return compileSubquery(query)
        }
    }

    /// Compiles a WHERE condition to a test of whether it is `true`.
    ///
    /// WHERE fires only on Boolean `true`, so `A AND B` — true exactly when both operands are
    /// logically true (`true` or the string "true") — need not evaluate B once A is not. `OR` cannot
    /// stop early: `true OR 5` is Undefined. `wantsBoolean`: the value must be the Boolean `true`
    /// (the whole condition); otherwise a logical truth as `AND` reads its operands.
    mutating func compileCondition(_ expr: Expr, wantsBoolean: Bool) -> Predicate {
        if case .binary(.and, let lhs, let rhs) = expr.kind {
            let left = compileCondition(lhs, wantsBoolean: false)
            let right = compileCondition(rhs, wantsBoolean: false)
            return { frame in try left(frame) && right(frame) }
        }
        let closure = compileExpr(expr).closure
        if wantsBoolean {
            return { frame in
                if case .bool(true) = try closure(frame) { return true }
                return false
            }
        }
        return { frame in Operators.logical(try closure(frame)) == true }
    }

    /// Reads attribute `name`: of the payload at the top level, of the element in a nested query.
    func attributeReader(_ name: String) -> @Sendable (EvaluationFrame) -> Value? {
        if nestingDepth > 0 {
            return { frame in
                if case .object(let object) = frame.row { return object[name] }
                return nil
            }
        }
        let key = AttributeName(name)
        return { frame in frame.payloadMember(key) }
    }

    static func member(_ value: Value?, _ name: String) -> Value? {
        if case .object(let object) = value { return object[name] }
        return nil
    }

    /// `x[i]`: an array element by 0-based index (converted to Int), an object member by string key.
    static func element(_ base: Value?, _ index: Value?) -> Value? {
        switch base {
        case .array(let array):
            guard let i = Conversions.toInt(index), i >= 0, i < array.count else { return nil }
            return array[Int(i)]
        case .object(let object):
            guard case .string(let key) = index else { return nil }
            return object[key]
        default: return nil
        }
    }

    mutating func compileBinary(_ op: Expr.BinaryOperator, _ lhs: Expr, _ rhs: Expr) -> Compiled {
        let l = compileExpr(lhs)
        let r = compileExpr(rhs)
        let function: @Sendable (Value?, Value?) -> Value? =
            switch op {
            case .and: Operators.and
            case .or: Operators.or
            case .equal: Operators.equal
            case .notEqual: Operators.notEqual
            case .less: { Operators.compare(.less, $0, $1) }
            case .lessEqual: { Operators.compare(.lessEqual, $0, $1) }
            case .greater: { Operators.compare(.greater, $0, $1) }
            case .greaterEqual: { Operators.compare(.greaterEqual, $0, $1) }
            case .add: Operators.add
            case .subtract: { Operators.arithmetic(.subtract, $0, $1) }
            case .multiply: { Operators.arithmetic(.multiply, $0, $1) }
            case .divide: { Operators.arithmetic(.divide, $0, $1) }
            case .modulo: { Operators.arithmetic(.modulo, $0, $1) }
            }
        if let lc = l.constant, let rc = r.constant { return .constant(function(lc, rc)) }
        let lClosure = l.closure
        let rClosure = r.closure
        // The commonest WHERE shape, `attribute <op> constant`, avoids one closure call.
        if case .attribute(let name) = lhs.kind, let rc = r.constant {
            let read = attributeReader(name)
            return .dynamic { frame in function(read(frame), rc) }
        }
        if let rc = r.constant {
            return .dynamic { frame in function(try lClosure(frame), rc) }
        }
        return .dynamic { frame in function(try lClosure(frame), try rClosure(frame)) }
    }

    mutating func compileCall(name: String, nameRange: SourceRange, arguments: [Expr], range: SourceRange) -> Compiled {
        let lowered = name.lowercased()
        guard let function = options.functions[lowered] else {
            if let reason = BuiltinFunctions.cloudOnly[lowered] {
                diagnostics.append(
                    Diagnostic(
                        "cloud-only-function", "function '\(name)' is not available in Signalbox", at: nameRange,
                        help: reason))
            } else {
                let suggestion = Suggestion.closest(to: lowered, in: options.functions.values.map(\.name))
                diagnostics.append(
                    Diagnostic(
                        "unknown-function", "unknown function '\(name)'", at: nameRange,
                        help: suggestion.map { "did you mean '\($0)'?" }))
            }
            for argument in arguments { _ = compileExpr(argument) }
            return .constant(nil)
        }
        if arguments.count < function.minArity || (function.maxArity.map { arguments.count > $0 } ?? false) {
            diagnostics.append(
                Diagnostic(
                    "arity",
                    "\(function.name)() takes \(function.arityDescription), but \(arguments.count) "
                        + (arguments.count == 1 ? "was" : "were") + " given",
                    at: range))
            return .constant(nil)
        }
        // encode(*, scheme) encodes the payload bytes exactly as received.
        if lowered == "encode", let first = arguments.first, case .wildcard = first.kind {
            let scheme = compileExpr(arguments[1])
            let schemeClosure = scheme.closure
            return .dynamic { frame in
                guard case .string(let s) = try schemeClosure(frame), s.lowercased() == "base64" else { return nil }
                return .string(Base64.encode(frame.message.rawPayload))
            }
        }
        let compiled = arguments.map { compileExpr($0) }
        if lowered == "decode", compiled.count > 1, case .string(let scheme)?? = compiled[1].constant,
            let reason = BuiltinFunctions.cloudOnlyDecodingSchemes[scheme.lowercased()]
        {
            diagnostics.append(
                Diagnostic(
                    "cloud-only-function", "decoding scheme '\(scheme)' is not available in Signalbox",
                    at: arguments[1].range, help: reason))
            return .constant(nil)
        }
        // topic(n) with a constant n, the commonest call in rules and templates, reads the level directly.
        if lowered == "topic", compiled.count == 1, case .int(let n)?? = compiled[0].constant {
            return .dynamic { frame in ContextFunctions.topicLevel(n, frame) }
        }
        let allConstant = compiled.allSatisfy { $0.constant != nil }
        let closures = compiled.map(\.closure)
        let callRange = range
        switch function.body {
        case .unary(let body):
            if allConstant && function.isDeterministic {
                return .constant(body(compiled[0].constant!))  // constant: checked above
            }
            let a = closures[0]
            return .dynamic { frame in body(try a(frame)) }
        case .binary(let body):
            if allConstant && function.isDeterministic {
                return .constant(body(compiled[0].constant!, compiled[1].constant!))  // constant: checked
            }
            let a = closures[0]
            let b = closures[1]
            if let bc = compiled[1].constant { return .dynamic { frame in body(try a(frame), bc) } }
            return .dynamic { frame in body(try a(frame), try b(frame)) }
        case .ternary(let body):
            if allConstant && function.isDeterministic {
                return .constant(body(compiled[0].constant!, compiled[1].constant!, compiled[2].constant!))  // checked
            }
            let a = closures[0]
            let b = closures[1]
            let c = closures[2]
            return .dynamic { frame in body(try a(frame), try b(frame), try c(frame)) }
        case .general(let body):
            if allConstant && function.isDeterministic {
                let frame = EvaluationFrame(
                    message: Message(topic: "", json: .null, timestamp: 0), services: EvaluationServices())
                let values = compiled.map { $0.constant! }  // constant: checked above
                do {
                    return .constant(try body(values, frame))
                } catch {
                    let message =
                        (error as? EvaluationError)?.message ?? "\(function.name)() failed on constant arguments"
                    diagnostics.append(Diagnostic("function", message, at: callRange))
                    return .constant(nil)
                }
            }
            // Errors a function throws (a failing shadow store) are located at the call.
            let located: @Sendable ([Value?], EvaluationFrame) throws -> Value? = { values, frame in
                do {
                    return try body(values, frame)
                } catch var error as EvaluationError {
                    error.range = callRange
                    throw error
                }
            }
            switch closures.count {
            case 0:
                return .dynamic { frame in try located([], frame) }
            case 1:
                let a = closures[0]
                return .dynamic { frame in try located([try a(frame)], frame) }
            default:
                return .dynamic { frame in
                    var values: [Value?] = []
                    values.reserveCapacity(closures.count)
                    for closure in closures { values.append(try closure(frame)) }
                    return try located(values, frame)
                }
            }
        }
    }

    mutating func compileSubquery(_ query: Query) -> Compiled {
        guard case .expression(let sourceExpr) = query.source else { return .constant(nil) }
        let source = compileExpr(sourceExpr).closure
        nestingDepth += 1
        let inner = compileBody(query, assignments: [])
        nestingDepth -= 1
        return .dynamic { frame in
            let elements: [Value]
            switch try source(frame) {
            case .array(let array): elements = array
            case .object(let object):
                // Over an object the query runs once, with the object as its row, and yields that
                // single value, not an array (the guide's transform() example 3 passes
                // `(SELECT a, b FROM data2)` as an Object).
                let saved = frame.row
                defer { frame.row = saved }
                frame.row = .object(object)
                if let condition = inner.condition, try !condition(frame) { return nil }
                guard case .json(let value) = try inner.project(frame) else { return nil }
                return value
            default: return nil
            }
            let saved = frame.row
            defer { frame.row = saved }
            var results: [Value] = []
            for element in elements {
                frame.row = element
                if let condition = inner.condition, try !condition(frame) { continue }
                switch try inner.project(frame) {
                case .json(let value): results.append(value)
                case .binary, .none: continue
                }
            }
            return .array(results)
        }
    }
}
