import GRDB
import GRDBSQLite

/// A statement from GRDB's per-connection cache, bound and stepped through the SQLite C API: the
/// shadow hot paths skip GRDB's per-call argument boxing and row objects.
///
/// Binding or stepping a statement another `HotStatement` is still using is a programmer error; the
/// statement is reset when this value ends. Errors carry the SQL and SQLite's message, never the
/// bound values.
struct HotStatement: ~Copyable {
    private let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer?

    /// Takes the cached statement for `sql` on `db`.
    init(_ db: Database, sql: String) throws {
        self.init(try db.cachedStatement(sql: sql), in: db)
    }

    /// Wraps `statement`, a statement of `db` taken once for a loop that binds and steps it for
    /// every row (the cache lookup hashes the whole SQL text).
    init(_ statement: Statement, in db: Database) {
        self.statement = statement
        handle = statement.sqliteStatement
        connection = db.sqliteConnection
    }

    deinit {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `value` to the 1-based parameter `index`.
    func bind(_ value: String, at index: Int32) throws {
        var value = value
        let code = value.withUTF8 { text in
            sqlite3_bind_text(handle, index, text.baseAddress, Int32(text.count), Self.transient)
        }
        try check(code)
    }

    /// Binds `value` to the 1-based parameter `index`.
    func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds `value` as 0 or 1 to the 1-based parameter `index`.
    func bind(_ value: Bool, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value ? 1 : 0))
    }

    /// Binds `bytes` as a blob to the 1-based parameter `index`.
    func bind(blob bytes: [UInt8], at index: Int32) throws {
        let code = bytes.withUnsafeBytes { raw in
            // An empty buffer may have no address, which SQLite would store as NULL.
            raw.isEmpty
                ? sqlite3_bind_zeroblob(handle, index, 0)
                : sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), Self.transient)
        }
        try check(code)
    }

    /// Runs the statement to its next row: true when a row is available, false when done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(code)
        }
    }

    /// The integer in column `index` (0-based) of the current row.
    func int64(at index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// Calls `body` with the bytes of the blob or text in column `index` (0-based) of the current
    /// row, valid only during the call.
    func withBytes<T>(at index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let count = Int(sqlite3_column_bytes(handle, index))
        let start = sqlite3_column_blob(handle, index)?.assumingMemoryBound(to: UInt8.self)
        return try body(UnsafeBufferPointer(start: count > 0 ? start : nil, count: count > 0 ? count : 0))
    }

    /// The row id of the last row inserted on this statement's connection.
    var lastInsertedRowID: Int64 {
        sqlite3_last_insert_rowid(connection)
    }

    private func check(_ code: Int32) throws {
        if code != SQLITE_OK { throw error(code) }
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }

    /// SQLite copies the bound bytes.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
