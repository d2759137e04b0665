import SignalboxJSON

/// The value of one condition of a WHERE clause for one message, and why it is not `true`.
package struct ConditionReport: Sendable {
    /// The condition's source text.
    package var text: String
    /// Where it stands in the statement.
    package var range: SourceRange
    /// Its value for the message (nil: Undefined).
    package var value: Value?
    /// How deeply it is nested in AND/OR/NOT (0 for the whole WHERE clause).
    package var depth: Int
    /// When the value is Undefined (or not a Boolean), the reasons, innermost first.
    package var reasons: [String]
}

extension Statement {
    /// Explains the WHERE clause for a message: the whole clause and each AND/OR/NOT operand,
    /// with its value and, for Undefined or non-Boolean values, why.
    ///
    /// The frame must have been evaluated (``evaluate(in:)``) so SET variables hold values.
    /// Reasons name attributes, variables and types, never payload values.
    package func explainCondition(in frame: EvaluationFrame) -> [ConditionReport] {
        guard let condition = query.condition else { return [] }
        var explainer = Explainer(statement: self, frame: frame)
        explainer.walk(condition, depth: 0)
        return explainer.reports
    }
}

struct Explainer {
    let statement: Statement
    let frame: EvaluationFrame
    var compiler: Compiler
    var reports: [ConditionReport] = []
    let bytes: [UInt8]

    init(statement: Statement, frame: EvaluationFrame) {
        self.statement = statement
        self.frame = frame
        self.compiler = statement.compiler
        self.bytes = Array(statement.sql.utf8)
    }

    func text(_ range: SourceRange) -> String {
        String(decoding: bytes[max(0, range.start)..<min(bytes.count, range.end)], as: UTF8.self)
    }

    mutating func value(of expr: Expr) -> Result<Value?, Error> {
        do {
            let evaluator = try compiler.compile(expr)
            return .success(try evaluator(frame))
        } catch {
            return .failure(error)
        }
    }

    mutating func walk(_ expr: Expr, depth: Int) {
        let result = value(of: expr)
        var report = ConditionReport(text: text(expr.range), range: expr.range, value: nil, depth: depth, reasons: [])
        switch result {
        case .success(let value):
            report.value = value
            switch value {
            case .bool: break
            case nil: report.reasons = whyUndefined(expr)
            case .some(let other):
                report.reasons = ["it is \(typeName(other)), not a Boolean; WHERE fires only on true"]
            }
        case .failure(let error):
            report.reasons = ["evaluation failed: \((error as? EvaluationError)?.message ?? "error")"]
        }
        reports.append(report)
        switch expr.kind {
        case .binary(.and, let l, let r), .binary(.or, let l, let r):
            walk(l, depth: depth + 1)
            walk(r, depth: depth + 1)
        case .unary(.not, let operand):
            walk(operand, depth: depth + 1)
        default:
            break
        }
    }

    func typeName(_ value: Value?) -> String {
        switch value {
        case nil: "Undefined"
        case .null: "Null"
        case .bool: "a Boolean"
        case .int: "an Int"
        case .double: "a Decimal"
        case .string: "a String"
        case .array: "an Array"
        case .object: "an Object"
        }
    }

    /// Why `expr` evaluates to Undefined, innermost causes first.
    mutating func whyUndefined(_ expr: Expr, depth: Int = 0) -> [String] {
        if depth > 16 { return [] }
        let shown = "`\(text(expr.range))`"
        switch expr.kind {
        case .attribute(let name):
            if !frame.message.isJSON { return ["the payload is not JSON, so attribute '\(name)' is Undefined"] }
            return ["the payload has no attribute '\(name)'"]
        case .variable(let name):
            guard let assignment = statement.query.assignments.first(where: { $0.name == name }) else {
                return ["@\(name) is Undefined"]
            }
            let inner = whyUndefined(assignment.value, depth: depth + 1)
            return ["@\(name) is Undefined (SET @\(name) = \(text(assignment.value.range)))"] + inner
        case .member(let base, let name):
            let baseValue = try? value(of: base).get()
            guard let baseValue else { return whyUndefined(base, depth: depth + 1) }
            if case .object = baseValue { return ["`\(text(base.range))` has no member '\(name)'"] }
            return ["`\(text(base.range))` is \(typeName(baseValue)), not an Object"]
        case .call(let name, _, let arguments):
            var reasons: [String] = []
            for argument in arguments {
                if case .success(nil) = value(of: argument) { reasons += whyUndefined(argument, depth: depth + 1) }
            }
            if reasons.isEmpty {
                let lowered = name.lowercased()
                if lowered == "get_shadow" || lowered == "get_thing_shadow" {
                    return ["\(shown) is Undefined: no shadow document is stored for that thing"]
                }
                let types = arguments.map { typeName(try? value(of: $0).get()) }.joined(separator: ", ")
                return ["\(name)() returned Undefined for arguments of type (\(types))"]
            }
            return reasons
        case .binary(let op, let l, let r):
            var reasons: [String] = []
            let lv = try? value(of: l).get()
            let rv = try? value(of: r).get()
            if lv == nil { reasons += whyUndefined(l, depth: depth + 1) }
            if rv == nil { reasons += whyUndefined(r, depth: depth + 1) }
            if !reasons.isEmpty { return reasons }
            return [
                "\(op.rawValue) of \(typeName(lv)) and \(typeName(rv)) is Undefined (see the operator's type table)"
            ]
        case .unary(_, let operand), .cast(let operand, _):
            let v = try? value(of: operand).get()
            if v == nil { return whyUndefined(operand, depth: depth + 1) }
            return ["\(shown) is Undefined for \(typeName(v))"]
        case .index(let base, _):
            let baseValue = try? value(of: base).get()
            if baseValue == nil { return whyUndefined(base, depth: depth + 1) }
            return ["the index is out of range or of the wrong type for \(typeName(baseValue))"]
        case .inList(let l, let r, _):
            let lv = try? value(of: l).get()
            if lv == nil { return whyUndefined(l, depth: depth + 1) }
            return ["the right side of IN is \(typeName(try? value(of: r).get())), not an Array"]
        case .caseWhen:
            return ["no WHEN matched and there is no ELSE (or the CASE subject is Undefined)"]
        default:
            return ["\(shown) is Undefined"]
        }
    }
}
