import SignalboxJSON

/// The SQL functions on collections and on Null/Undefined: `get`, `concat`, `transform`, `isNull`,
/// `isUndefined`, `nanvl` and `get_or_default`.
enum CollectionFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        BuiltinFunction(name: "get", arity: 2...2, body: .binary(get)),
        BuiltinFunction(name: "concat", minArity: 0, body: .general { arguments, _ in concat(arguments) }),
        BuiltinFunction(name: "transform", arity: 3...3, body: .ternary(transform)),
        BuiltinFunction(
            name: "isNull", arity: 1...1,
            body: .unary { value in
                if case .null = value { return .bool(true) }
                return .bool(false)
            }),
        BuiltinFunction(name: "isUndefined", arity: 1...1, body: .unary { .bool($0 == nil) }),
        BuiltinFunction(
            name: "nanvl", arity: 2...2,
            body: .binary { value, fallback in
                switch value {
                case nil, .null: return fallback
                case .double(let d) where d.isNaN: return fallback
                default: return value
                }
            }),
        BuiltinFunction(
            name: "get_or_default", arity: 1...2,
            body: .general { arguments, _ in
                let value = arguments.first ?? nil
                switch value {
                case nil, .null: return arguments.count > 1 ? arguments[1] : nil
                default: return value
                }
            }),
    ]

    /// `get(collection, key)`: an array element by 0-based index, a string's character by 0-based
    /// index (the index converted To Int), or an object member by String key. Out of range,
    /// missing, or any other combination gives Undefined.
    @Sendable static func get(_ collection: Value?, _ key: Value?) -> Value? {
        switch collection {
        case .array(let elements):
            guard let index = Conversions.toInt(key), index >= 0, index < Int64(elements.count) else { return nil }
            return elements[Int(index)]
        case .string(let s):
            guard let index = Conversions.toInt(key), index >= 0, index < Int64(Int.max) else { return nil }
            let scalars = s.unicodeScalars
            guard let position = scalars.index(scalars.startIndex, offsetBy: Int(index), limitedBy: scalars.endIndex),
                position < scalars.endIndex
            else { return nil }
            return .string(String(scalars[position]))
        case .object(let object):
            guard case .string(let name) = key else { return nil }
            return object[name]
        default:
            return nil
        }
    }

    /// `concat(…)`: no arguments → Undefined; one argument → an array as it is, anything else
    /// converted To String. With two or more: if any is an array, one array of all arguments with
    /// arrays spliced in (Null becomes a null element); otherwise the concatenated String forms.
    /// Any Undefined argument, or a Null when concatenating strings, gives Undefined.
    static func concat(_ arguments: [Value?]) -> Value? {
        guard !arguments.isEmpty else { return nil }
        if arguments.count == 1 {
            if case .array = arguments[0] { return arguments[0] }
            return Conversions.toString(arguments[0]).map(Value.string)
        }
        var hasArray = false
        for argument in arguments {
            guard let argument else { return nil }
            if case .array = argument { hasArray = true }
        }
        if hasArray {
            var result: [Value] = []
            for argument in arguments {
                switch argument {
                case .array(let elements): result.append(contentsOf: elements)
                case .some(let value): result.append(value)
                case nil: return nil
                }
            }
            return .array(result)
        }
        var text = ""
        for argument in arguments {
            guard let piece = Conversions.toString(argument) else { return nil }
            text += piece
        }
        return .string(text)
    }

    /// `transform('enrichArray', object, array)`: each object element of `array` with the members
    /// of `object` added after its own (a member of `object` replaces an element member of the same
    /// name, in place). Elements that are not objects are left out. Any other mode, or arguments of
    /// other types, give Undefined.
    @Sendable static func transform(_ mode: Value?, _ attributes: Value?, _ array: Value?) -> Value? {
        guard case .string("enrichArray") = mode, case .object(let extra) = attributes,
            case .array(let elements) = array
        else { return nil }
        var result: [Value] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case .object(var object) = element else { continue }
            for member in extra { object[member.key] = member.value }
            result.append(.object(object))
        }
        return .array(result)
    }
}
