import SignalboxJSON

/// An expression in rule SQL, with the byte range it was written at.
public struct Expr: Sendable, Hashable {
    /// Unary operators.
    public enum UnaryOperator: String, Sendable, Hashable {
        case not = "NOT"
        case negate = "-"
        case plus = "+"
    }

    /// Binary operators, loosest-binding first in ``BinaryOperator/precedence``.
    public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
        case or = "OR"
        case and = "AND"
        case equal = "="
        case notEqual = "<>"
        case less = "<"
        case lessEqual = "<="
        case greater = ">"
        case greaterEqual = ">="
        case add = "+"
        case subtract = "-"
        case multiply = "*"
        case divide = "/"
        case modulo = "%"

        /// Binding strength: higher binds tighter.
        public var precedence: Int {
            switch self {
            case .or: 1
            case .and: 2
            case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: 4
            case .add, .subtract: 5
            case .multiply, .divide, .modulo: 6
            }
        }
    }

    /// The target type of `cast(x AS Type)`.
    public enum CastType: String, Sendable, Hashable, CaseIterable {
        case int = "Int"
        case decimal = "Decimal"
        case bool = "Boolean"
        case string = "String"
    }

    /// One `WHEN … THEN …` of a CASE.
    public struct WhenClause: Sendable, Hashable {
        public var condition: Expr
        public var result: Expr
    }

    /// One `key: value` of an object literal.
    public struct ObjectMember: Sendable, Hashable {
        public var key: String
        public var value: Expr
    }

    public indirect enum Kind: Sendable, Hashable {
        /// A constant: number, string, boolean or null.
        case literal(Value)
        /// `[a, b]`
        case array([Expr])
        /// `{'k': v}`
        case object([ObjectMember])
        /// An attribute of the current row (the payload at top level).
        case attribute(String)
        /// `@name`
        case variable(String)
        /// `*` used as a value: the whole payload (or row).
        case wildcard
        /// `expr.name`
        case member(Expr, String)
        /// `expr[index]`
        case index(Expr, Expr)
        case unary(UnaryOperator, Expr)
        case binary(BinaryOperator, Expr, Expr)
        /// `expr [NOT] IN array`
        case inList(Expr, Expr, negated: Bool)
        /// `name(args)`; `nameRange` covers the name only.
        case call(name: String, nameRange: SourceRange, arguments: [Expr])
        /// `cast(expr AS type)`
        case cast(Expr, CastType)
        /// `CASE [subject] WHEN … THEN … [ELSE …] END`
        case caseWhen(subject: Expr?, whens: [WhenClause], otherwise: Expr?)
        /// `(SELECT … FROM expr [AS alias] [WHERE …])`: a nested object query over an array.
        case subquery(Query)
    }

    public var kind: Kind
    public var range: SourceRange

    public init(_ kind: Kind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}

/// A SELECT statement: the rule itself, or a nested object query.
public struct Query: Sendable, Hashable {
    /// One item of the SELECT list.
    public enum Item: Sendable, Hashable {
        /// `*`: every attribute of the row (the whole payload at top level).
        case wildcard(SourceRange)
        /// An expression with an optional `AS` alias; a dotted alias (`AS a.b`) is a path that
        /// nests the value in objects.
        case expression(Expr, alias: [String]?, aliasRange: SourceRange?)
    }

    /// What the SELECT produces.
    public enum Projection: Sendable, Hashable {
        /// `SELECT a, b AS c, *`: an object.
        case items([Item])
        /// `SELECT VALUE expr`: the value itself.
        case value(Expr)
    }

    /// The source of rows.
    public enum Source: Sendable, Hashable {
        /// `FROM 'topic/filter'` (top level only).
        case topic(String, SourceRange)
        /// `FROM expr` (nested queries only): iterate the elements of an array.
        case expression(Expr)
    }

    /// One `SET @name = expr`.
    public struct Assignment: Sendable, Hashable {
        public var name: String
        public var nameRange: SourceRange
        public var value: Expr
    }

    public var assignments: [Assignment]
    public var projection: Projection
    public var source: Source
    public var condition: Expr?
    public var range: SourceRange
    /// Where `SELECT` keyword stands.
    public var selectRange: SourceRange
    /// Where the statement's comments are (`-- …`, `/* … */`, a Signalbox extension).
    public var comments: [SourceRange] = []

    public init(
        assignments: [Assignment], projection: Projection, source: Source, condition: Expr?, range: SourceRange,
        selectRange: SourceRange
    ) {
        self.assignments = assignments
        self.projection = projection
        self.source = source
        self.condition = condition
        self.range = range
        self.selectRange = selectRange
    }
}
