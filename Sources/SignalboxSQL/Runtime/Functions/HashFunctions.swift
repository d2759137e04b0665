import SignalboxJSON

/// The hashing SQL functions `md2`, `md5`, `sha1`, `sha224`, `sha256`, `sha384` and `sha512`.
///
/// Each takes one argument, converts it To String, hashes its UTF-8 bytes and returns the digest as
/// lowercase hexadecimal. Null and Undefined (which have no string form) give Undefined.
enum HashFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = Hashing.Algorithm.allCases.map { algorithm in
        BuiltinFunction(
            name: algorithm.rawValue, arity: 1...1,
            body: .unary { value in
                guard let s = Conversions.toString(value) else { return nil }
                return .string(Hashing.hex(Hashing.digest(algorithm, Array(s.utf8))))
            })
    }
}
