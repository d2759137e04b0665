import SignalboxJSON

/// The AWS IoT SQL operators, each following its type table in the AWS IoT developer guide
/// ("Operators"). `nil` is Undefined. Every rule for mixing types lives here.
package enum Operators {
    // MARK: Logic

    /// `AND`: Boolean operands, or the strings "true"/"false" (any case); otherwise Undefined.
    @inlinable
    package static func and(_ lhs: Value?, _ rhs: Value?) -> Value? {
        guard let l = logical(lhs), let r = logical(rhs) else { return nil }
        return .bool(l && r)
    }

    /// `OR`: Boolean operands, or the strings "true"/"false" (any case); otherwise Undefined.
    @inlinable
    package static func or(_ lhs: Value?, _ rhs: Value?) -> Value? {
        guard let l = logical(lhs), let r = logical(rhs) else { return nil }
        return .bool(l || r)
    }

    /// `NOT`: Boolean, or the strings "true"/"false" (any case); otherwise Undefined.
    @inlinable
    package static func not(_ operand: Value?) -> Value? {
        logical(operand).map { .bool(!$0) }
    }

    /// The truth of a logical operand: Boolean, or the strings "true"/"false" in any case.
    @inlinable
    package static func logical(_ value: Value?) -> Bool? {
        switch value {
        case .bool(let b): b
        case .string(let s): Conversions.parseBoolString(s)
        default: nil
        }
    }

    // MARK: Equality

    /// `=`: Undefined on either side → Undefined; Int and Decimal compare as numbers; strings,
    /// booleans and Null compare by value; arrays element-wise in order; objects by keys and
    /// values in any order; mismatched types → false.
    @inlinable
    package static func equal(_ lhs: Value?, _ rhs: Value?) -> Value? {
        guard let lhs, let rhs else { return nil }
        return .bool(equals(lhs, rhs))
    }

    /// `<>`: the negation of `=`, Undefined when either side is Undefined.
    @inlinable
    package static func notEqual(_ lhs: Value?, _ rhs: Value?) -> Value? {
        guard let lhs, let rhs else { return nil }
        return .bool(!equals(lhs, rhs))
    }

    /// The language's equality of two defined values: numbers compared by exact value (an Int and a
    /// Decimal are equal only when the Decimal is that whole number), other types by type and value,
    /// arrays element by element, objects member by member in any order. Device shadows use the same
    /// equality for their delta.
    package static func equals(_ lhs: Value, _ rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)):
            // Exact: converting the Int to a Double would make 2^53 + 1 equal 2^53.
            guard b.rounded() == b, b >= -0x1p63, b < 0x1p63 else { return false }
            return Int64(b) == a
        case (.double(let a), .double(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for i in a.indices where !equals(a[i], b[i]) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for member in a {
                guard let other = b[member.key], equals(member.value, other) else { return false }
            }
            return true
        default: return false
        }
    }

    // MARK: Ordering

    /// `<`, `<=`, `>`, `>=`: both operands converted to Decimal (strings must parse as
    /// Decimal); anything else → Undefined. Int against Int compares exactly.
    @inlinable
    package static func compare(_ op: Expr.BinaryOperator, _ lhs: Value?, _ rhs: Value?) -> Value? {
        if case .int(let a) = lhs, case .int(let b) = rhs {
            return .bool(order(op, a, b))
        }
        guard let a = orderable(lhs), let b = orderable(rhs) else { return nil }
        if a.isNaN || b.isNaN { return .bool(false) }
        return .bool(order(op, a, b))
    }

    @inlinable
    static func orderable(_ value: Value?) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .double(let d): d
        case .string(let s): Conversions.parseDecimalString(s)
        default: nil
        }
    }

    @inlinable
    static func order<T: Comparable>(_ op: Expr.BinaryOperator, _ a: T, _ b: T) -> Bool {
        switch op {
        case .less: a < b
        case .lessEqual: a <= b
        case .greater: a > b
        default: a >= b
        }
    }

    // MARK: Arithmetic

    /// `+`: a String on either side concatenates (the other side converted To String; Null and
    /// Undefined have no string form, so the result is Undefined); Int + Int → Int (Decimal on
    /// overflow); Int/Decimal mixes → Decimal; anything else → Undefined.
    @inlinable
    package static func add(_ lhs: Value?, _ rhs: Value?) -> Value? {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)):
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .double(Double(a) + Double(b)) : .int(sum)
        case (.int(let a), .double(let b)): return .double(Double(a) + b)
        case (.double(let a), .int(let b)): return .double(a + Double(b))
        case (.double(let a), .double(let b)): return .double(a + b)
        case (.string(let a), _):
            guard let b = Conversions.toString(rhs) else { return nil }
            return .string(a + b)
        case (_, .string(let b)):
            guard let a = Conversions.toString(lhs) else { return nil }
            return .string(a + b)
        default: return nil
        }
    }

    /// `-`, `*`, `/`, `%`: Int with Int → Int (Decimal on overflow; division truncates toward
    /// zero; `%` takes the sign of the dividend); Int/Decimal → Decimal; numeric strings are
    /// converted to Decimal and give a Decimal; division or remainder by zero → Undefined;
    /// anything else → Undefined.
    @inlinable
    package static func arithmetic(_ op: Expr.BinaryOperator, _ lhs: Value?, _ rhs: Value?) -> Value? {
        if case .int(let a) = lhs, case .int(let b) = rhs {
            switch op {
            case .subtract:
                let (r, o) = a.subtractingReportingOverflow(b)
                return o ? .double(Double(a) - Double(b)) : .int(r)
            case .multiply:
                let (r, o) = a.multipliedReportingOverflow(by: b)
                return o ? .double(Double(a) * Double(b)) : .int(r)
            case .divide:
                if b == 0 { return nil }
                let (r, o) = a.dividedReportingOverflow(by: b)
                return o ? .double(Double(a) / Double(b)) : .int(r)
            case .modulo:
                if b == 0 { return nil }
                let (r, o) = a.remainderReportingOverflow(dividingBy: b)
                return o ? .int(0) : .int(r)
            default: return nil
            }
        }
        guard let a = orderable(lhs), let b = orderable(rhs) else { return nil }
        switch op {
        case .subtract: return .double(a - b)
        case .multiply: return .double(a * b)
        case .divide: return b == 0 ? nil : .double(a / b)
        case .modulo: return b == 0 ? nil : .double(a.truncatingRemainder(dividingBy: b))
        default: return nil
        }
    }

    /// Unary `-`: Int → -Int; Decimal → -Decimal; numeric strings → -Decimal; else Undefined.
    @inlinable
    package static func negate(_ operand: Value?) -> Value? {
        switch operand {
        case .int(let i): return i == .min ? .double(-Double(i)) : .int(-i)
        case .double(let d): return .double(-d)
        case .string(let s): return Conversions.parseDecimalString(s).map { .double(-$0) }
        default: return nil
        }
    }

    /// Applies a binary operator other than AND/OR.
    @inlinable
    package static func apply(_ op: Expr.BinaryOperator, _ lhs: Value?, _ rhs: Value?) -> Value? {
        switch op {
        case .and: and(lhs, rhs)
        case .or: or(lhs, rhs)
        case .equal: equal(lhs, rhs)
        case .notEqual: notEqual(lhs, rhs)
        case .less, .lessEqual, .greater, .greaterEqual: compare(op, lhs, rhs)
        case .add: add(lhs, rhs)
        case .subtract, .multiply, .divide, .modulo: arithmetic(op, lhs, rhs)
        }
    }

    /// `x IN array`: true if some element equals `x` (by `=`), false if none does; Undefined if
    /// `x` is Undefined or the right side is not an array.
    package static func isIn(_ lhs: Value?, _ rhs: Value?) -> Value? {
        guard let lhs, case .array(let elements) = rhs else { return nil }
        return .bool(elements.contains { equals(lhs, $0) })
    }
}
