/// A JSON value, as messages, shadows and rule outputs carry it.
///
/// Integers and decimals are kept apart: `1` parses to `.int(1)` and `1.0` to `.double(1.0)`, and
/// `true` is never a number. Structural equality (`==`) compares exactly that way, which is what
/// tests want; the rule language's `=` operator has its own, documented semantics.
///
/// For example:
/// ```swift
/// let value = try JSONParser.parse(#"{"temp": 21.5, "ok": true}"#)
/// value["temp"]   // .double(21.5)
/// ```
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([Value])
    case object(JSONObject)

    /// The member named `key` when this is an object, otherwise `nil`.
    @inlinable
    public subscript(key: String) -> Value? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index` when this is an array and the index is in range, otherwise `nil`.
    @inlinable
    public subscript(index: Int) -> Value? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    /// The JSON type name (`null`, `boolean`, `number`, `string`, `array`, `object`).
    public var jsonTypeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }
}

extension Value: CustomStringConvertible {
    /// The value serialized as compact JSON.
    public var description: String { JSONSerializer.string(self) }
}
