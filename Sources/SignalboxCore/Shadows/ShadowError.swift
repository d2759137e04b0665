/// A rejected shadow request: the AWS error code, the AWS message, and the exception name the AWS
/// SDKs map it to.
///
/// Messages never quote document values.
package struct ShadowError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The AWS Device Shadow error codes (they double as HTTP status codes).
    package enum Code: Int, Sendable, Hashable {
        case badRequest = 400
        case unauthorized = 401
        case forbidden = 403
        case notFound = 404
        case conflict = 409
        case payloadTooLarge = 413
        case unsupportedEncoding = 415
        case tooManyRequests = 429
        case internalError = 500
        case serviceUnavailable = 503

        /// The exception name AWS sends in `x-amzn-ErrorType`, which the SDKs raise.
        package var exceptionName: String {
            switch self {
            case .badRequest: "InvalidRequestException"
            case .unauthorized: "UnauthorizedException"
            case .forbidden: "ForbiddenException"
            case .notFound: "ResourceNotFoundException"
            case .conflict: "ConflictException"
            case .payloadTooLarge: "RequestEntityTooLargeException"
            case .unsupportedEncoding: "UnsupportedDocumentEncodingException"
            case .tooManyRequests: "ThrottlingException"
            case .internalError: "InternalFailureException"
            case .serviceUnavailable: "ServiceUnavailableException"
            }
        }
    }

    /// The error code.
    package var code: Code
    /// The message, as AWS words it where AWS documents one.
    package var message: String

    /// Creates an error.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}
