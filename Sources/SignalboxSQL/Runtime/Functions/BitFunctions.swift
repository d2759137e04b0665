import SignalboxJSON

/// The bitwise SQL functions `bitand`, `bitor`, `bitxor` and `bitnot`.
///
/// Arguments are Ints; a Decimal is rounded down to the nearest Int and a numeric String is parsed
/// as a Decimal and rounded down. Anything else, or a number outside the 64-bit range, gives
/// Undefined. Ints are 64-bit two's complement, so `bitnot(13)` is -14.
enum BitFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        binary("bitand") { $0 & $1 },
        binary("bitor") { $0 | $1 },
        binary("bitxor") { $0 ^ $1 },
        BuiltinFunction(
            name: "bitnot", arity: 1...1,
            body: .unary { value in FunctionSupport.flooredInt(value).map { .int(~$0) } }),
    ]

    /// A function of two Ints (rounded down from Decimals and numeric strings) giving an Int.
    static func binary(_ name: String, _ op: @escaping @Sendable (Int64, Int64) -> Int64) -> BuiltinFunction {
        BuiltinFunction(
            name: name, arity: 2...2,
            body: .binary { lhs, rhs in
                guard let a = FunctionSupport.flooredInt(lhs), let b = FunctionSupport.flooredInt(rhs) else {
                    return nil
                }
                return .int(op(a, b))
            })
    }
}
