import SignalboxJSON

/// The closures of a compiled query.
struct CompiledQuery: Sendable {
    enum Item: @unchecked Sendable {  // closures capture only immutable compiled state
        case wildcard(SourceRange)
        case named([String], Evaluator)
    }

    enum Projection: @unchecked Sendable {  // closures capture only immutable compiled state
        /// `SELECT *` or `SELECT VALUE *`: the payload exactly as received.
        case wholePayload
        case value(Evaluator)
        /// `distinctNames`: the items are single, distinct names (no `*`), so keys never repeat.
        case object([Item], distinctNames: Bool)
    }

    var assignments: [(slot: Int, evaluator: Evaluator)]
    var condition: Predicate?
    var projection: Projection
    /// Whether this is a nested query, whose rows are array elements rather than the payload.
    var isNested: Bool

    /// The current row as a whole: the element in a nested query, the payload at the top level.
    func currentRow(_ frame: EvaluationFrame) -> Value? {
        isNested ? frame.row : frame.payloadValue
    }

    /// The SELECT output for the frame's current row; nil when `SELECT VALUE` is Undefined.
    func project(_ frame: EvaluationFrame) throws -> Output? {
        switch projection {
        case .wholePayload:
            if let row = currentRow(frame) { return .json(row) }
            return .binary(frame.message.rawPayload)
        case .value(let evaluator):
            return try evaluator(frame).map(Output.json)
        case .object(let items, let distinctNames):
            var object = JSONObject(minimumCapacity: items.count)
            if distinctNames {
                for case .named(let path, let evaluator) in items {
                    guard let value = try evaluator(frame) else { continue }
                    object.appendUnique(key: path[0], value: value)
                }
                return .json(.object(object))
            }
            for item in items {
                switch item {
                case .wildcard(let range):
                    switch currentRow(frame) {
                    case .object(let row):
                        for member in row { object[member.key] = member.value }
                    case nil where frame.message.rawPayload.isEmpty:
                        break
                    default:
                        throw EvaluationError(
                            "'*' with other items needs a JSON object payload; this payload is not one",
                            at: range)
                    }
                case .named(let path, let evaluator):
                    guard let value = try evaluator(frame) else { continue }
                    if path.count == 1 {
                        object[path[0]] = value
                    } else {
                        Self.insert(value, at: path[...], into: &object)
                    }
                }
            }
            return .json(.object(object))
        }
    }

    static func insert(_ value: Value, at path: ArraySlice<String>, into object: inout JSONObject) {
        guard let first = path.first else { return }
        if path.count == 1 {
            object[first] = value
            return
        }
        var child: JSONObject
        if case .object(let existing) = object[first] { child = existing } else { child = JSONObject() }
        insert(value, at: path.dropFirst(), into: &child)
        object[first] = .object(child)
    }
}
