"""Domain errors. The server maps them to HTTP statuses in one place."""


class EngineError(Exception):
    status = 400

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


class Invalid(EngineError):
    status = 400


class NotFound(EngineError):
    status = 404


class Conflict(EngineError):
    status = 409


class TooLarge(EngineError):
    status = 413


class DiskFull(EngineError):
    status = 507


class Unavailable(EngineError):
    status = 503
