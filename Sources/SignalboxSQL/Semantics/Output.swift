import SignalboxJSON

/// What a rule produces: a JSON value, or raw bytes (a binary payload passed through by `*`, or
/// an empty payload when `SELECT VALUE` is Undefined).
public enum Output: Sendable, Hashable {
    case json(Value)
    case binary([UInt8])

    /// The payload bytes to hand to an action.
    public var bytes: [UInt8] {
        switch self {
        case .json(let value): JSONSerializer.bytes(value)
        case .binary(let bytes): bytes
        }
    }
}
