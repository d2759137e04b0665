/// Deployed functions (the AWS Lambda contract), as rules call them: the `lambda` action and the SQL
/// function `aws_lambda()`.
package protocol FunctionInvoker: Sendable {
    /// Runs the function `request` names with its payload as the event, and waits for its answer.
    ///
    /// - Throws: ``FunctionInvocationError`` when the function does not exist, is throttled, or gave
    ///   no answer (timed out, crashed, failed its init).
    func invoke(_ request: FunctionInvocationRequest) async throws(FunctionInvocationError) -> FunctionInvocationResult
}

/// One call of a deployed function.
package struct FunctionInvocationRequest: Sendable, Hashable {
    /// `NAME`, `NAME:QUALIFIER` (a version or an alias) or a function ARN, as Lambda's `Invoke` takes it.
    package var function: String
    /// The event (JSON).
    package var payload: [UInt8]
    /// Reaches the function in its client context (`context.client_context.custom`), so it can drop
    /// the repeats that retries cause.
    package var idempotencyKey: String?
    /// The most the caller waits; the function's own timeout applies too.
    package var timeout: Duration?

    /// A call.
    package init(function: String, payload: [UInt8], idempotencyKey: String? = nil, timeout: Duration? = nil) {
        self.function = function
        self.payload = payload
        self.idempotencyKey = idempotencyKey
        self.timeout = timeout
    }
}

/// What a deployed function answered.
package enum FunctionInvocationResult: Sendable, Hashable {
    /// It returned: its result (JSON).
    case returned([UInt8])
    /// It raised: Lambda's error document (`errorMessage`, `errorType`, `stackTrace`).
    case raised(document: [UInt8], errorType: String?)
}

/// Why a deployed function gave no answer.
package enum FunctionInvocationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No such function, version or alias.
    case notFound(String)
    /// Its workers are all busy and its queue is full, or it is stopping.
    case throttled
    /// It was called, but ended without an answer: timed out, crashed, exited, failed its init.
    case failed(String)
    /// The request cannot be run (bad name, payload too large).
    case invalid(String)

    package var description: String {
        switch self {
        case .notFound(let what): "function not found: \(what)"
        case .throttled: "the function is throttled (every worker busy and its queue full)"
        case .failed(let why): why
        case .invalid(let why): why
        }
    }
}

/// A function name as Lambda takes it: `NAME`, `NAME:QUALIFIER`, `ACCOUNT:function:NAME[:QUALIFIER]` or
/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
package struct FunctionReference: Sendable, Hashable {
    package var name: String
    package var qualifier: String?

    /// Parses `text`; nil when it is none of those forms or the name or qualifier is malformed.
    package init?(_ text: String) {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 7, parts[0] == "arn", parts[2] == "lambda", parts[5] == "function" {
            parts.removeFirst(6)
        } else if parts.count >= 3, parts[1] == "function" {
            parts.removeFirst(2)
        }
        guard (1...2).contains(parts.count), Self.isName(parts[0]) else { return nil }
        name = parts[0]
        if parts.count == 2 {
            guard Self.isQualifier(parts[1]) else { return nil }
            qualifier = parts[1]
        }
    }

    /// A function name: 1–64 of `[a-zA-Z0-9-_]`.
    package static func isName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy(isNameByte)
    }

    /// An alias name: 1–128 of `[a-zA-Z0-9-_]`, not all digits.
    package static func isAliasName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name.utf8.allSatisfy(isNameByte)
            && !name.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// `$LATEST`, a version number or an alias name.
    package static func isQualifier(_ qualifier: String) -> Bool {
        qualifier == "$LATEST" || isAliasName(qualifier)
            || (1...10).contains(qualifier.utf8.count)
                && qualifier.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
