//! Thrift binary messages as the scheduler's `/api` endpoint exchanges them.
//!
//! One HTTP body is one unframed message: a strict binary header (`0x8001_0000 | type`,
//! method name, sequence id) followed by the argument struct of a CALL or the result struct
//! of a REPLY (`0: success` = the `Response`). Calls are encoded from the optional-argument
//! `…Call` structs of our IDL, so an omitted argument stays omitted on the wire and a call
//! that omits one (as Aurora's client does) still decodes.

use std::io::Cursor;

use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol,
    TMessageIdentifier, TMessageType, TOutputProtocol, TSerializable, TStructIdentifier, TType,
};

use crate::types::Response;

/// What went wrong reading or writing a Thrift message.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The bytes are not a valid encoding of the expected struct.
    #[error("malformed Thrift data: {0}")]
    Protocol(String),
    /// The reply is for another method than the one called.
    #[error("reply is for method `{actual}`, expected `{expected}`")]
    WrongMethod {
        /// The method called.
        expected: String,
        /// The method in the reply.
        actual: String,
    },
    /// The reply carries another sequence id than the call.
    #[error("reply has sequence id {actual}, expected {expected}")]
    WrongSequence {
        /// The call's sequence id.
        expected: i32,
        /// The reply's sequence id.
        actual: i32,
    },
    /// The message type is not the one expected here (e.g. a CALL where a REPLY belongs).
    #[error("unexpected Thrift message type {0:?}")]
    WrongMessageType(TMessageType),
    /// The peer answered with a Thrift `EXCEPTION` (unknown method, undecodable arguments…).
    #[error("scheduler raised a Thrift application exception ({kind}): {message}")]
    Exception {
        /// The `TApplicationException` kind.
        kind: String,
        /// Its message.
        message: String,
    },
    /// A reply without its `success` field.
    #[error("reply has no Response")]
    MissingResponse,
    /// Bytes left over after the message.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
}

impl From<thrift::Error> for WireError {
    fn from(e: thrift::Error) -> Self {
        match e {
            thrift::Error::Application(app) => WireError::Exception {
                kind: format!("{:?}", app.kind),
                message: app.message,
            },
            other => WireError::Protocol(other.to_string()),
        }
    }
}

/// A method of the scheduler API: its name on the wire, its argument struct and whether a
/// call may be re-sent when its outcome is unknown.
pub trait Rpc {
    /// The method name in the message header (e.g. `"killTasks"`).
    const METHOD: &'static str;
    /// The argument struct, with Aurora's argument ids.
    type Call: TSerializable + Clone + std::fmt::Debug + Send + Sync + 'static;
    /// Whether sending the same call twice has the same effect as sending it once, so a call
    /// whose reply was lost may be sent again. `createJob` and `addInstances` are not.
    const IDEMPOTENT: bool;
    /// Whether the method only reads state.
    const READ_ONLY: bool;
}

/// Encodes a struct on its own (no message header), e.g. a bare `JobConfiguration`.
pub fn encode_struct<T: TSerializable>(value: &T) -> Vec<u8> {
    let mut buf = Vec::new();
    {
        let mut out = TBinaryOutputProtocol::new(&mut buf, true);
        // Writing to a Vec cannot fail.
        let _ = value.write_to_out_protocol(&mut out);
    }
    buf
}

/// Decodes a struct that fills `bytes` exactly.
pub fn decode_struct<T: TSerializable>(bytes: &[u8]) -> Result<T, WireError> {
    let mut cursor = Cursor::new(bytes);
    let value = {
        let mut input = TBinaryInputProtocol::new(&mut cursor, true);
        T::read_from_in_protocol(&mut input)?
    };
    expect_consumed(&cursor)?;
    Ok(value)
}

/// Encodes a CALL message.
pub fn encode_call<C: TSerializable>(method: &str, seq: i32, args: &C) -> Vec<u8> {
    encode_message(method, TMessageType::Call, seq, |out| {
        args.write_to_out_protocol(out)
    })
}

/// Encodes a REPLY message carrying `response` as the result's `success` field.
pub fn encode_reply(method: &str, seq: i32, response: &Response) -> Vec<u8> {
    encode_message(method, TMessageType::Reply, seq, |out| {
        out.write_struct_begin(&TStructIdentifier::new(format!("{method}_result")))?;
        out.write_field_begin(&TFieldIdentifier::new("success", TType::Struct, 0))?;
        response.write_to_out_protocol(out)?;
        out.write_field_end()?;
        out.write_field_stop()?;
        out.write_struct_end()
    })
}

/// Encodes an EXCEPTION message, as libthrift's processor sends for an unknown method or
/// arguments it cannot decode.
pub fn encode_exception(
    method: &str,
    seq: i32,
    kind: thrift::ApplicationErrorKind,
    message: &str,
) -> Vec<u8> {
    let error = thrift::ApplicationError::new(kind, message.to_string());
    encode_message(method, TMessageType::Exception, seq, |out| {
        thrift::Error::write_application_error_to_out_protocol(&error, out)
    })
}

fn encode_message(
    method: &str,
    kind: TMessageType,
    seq: i32,
    body: impl FnOnce(&mut dyn TOutputProtocol) -> thrift::Result<()>,
) -> Vec<u8> {
    let mut buf = Vec::new();
    {
        let mut out = TBinaryOutputProtocol::new(&mut buf, true);
        let ident = TMessageIdentifier::new(method, kind, seq);
        // Writing to a Vec cannot fail.
        let _ = out
            .write_message_begin(&ident)
            .and_then(|()| body(&mut out))
            .and_then(|()| out.write_message_end());
    }
    buf
}

/// Decodes a REPLY to `method` with sequence id `seq` and returns its `Response`.
pub fn decode_reply(method: &str, seq: i32, bytes: &[u8]) -> Result<Response, WireError> {
    let mut cursor = Cursor::new(bytes);
    let response = read_reply(method, seq, &mut cursor)?;
    expect_consumed(&cursor)?;
    Ok(response)
}

/// [`decode_reply`] of a message read from `input` as it is decoded, so the message's bytes
/// are never held whole (a big reply straight off the connection). The message must be all
/// of `input`: what follows it is read to the end and is an error.
pub fn decode_reply_from<R: std::io::Read + ?Sized>(
    method: &str,
    seq: i32,
    input: &mut R,
) -> Result<Response, WireError> {
    let response = read_reply(method, seq, input)?;
    let left = std::io::copy(input, &mut std::io::sink())
        .map_err(|e| WireError::Protocol(format!("reading past the message: {e}")))?;
    if left > 0 {
        return Err(WireError::TrailingBytes(
            usize::try_from(left).unwrap_or(usize::MAX),
        ));
    }
    Ok(response)
}

/// The header checks and result struct of a REPLY, leaving `input` after the message.
fn read_reply<R: std::io::Read + ?Sized>(
    method: &str,
    seq: i32,
    input: &mut R,
) -> Result<Response, WireError> {
    let mut input = TBinaryInputProtocol::new(input, true);
    let ident = input.read_message_begin()?;
    if ident.message_type == TMessageType::Exception {
        let error = thrift::Error::read_application_error_from_in_protocol(&mut input)?;
        return Err(WireError::Exception {
            kind: format!("{:?}", error.kind),
            message: error.message,
        });
    }
    if ident.message_type != TMessageType::Reply {
        return Err(WireError::WrongMessageType(ident.message_type));
    }
    if ident.name != method {
        return Err(WireError::WrongMethod {
            expected: method.to_string(),
            actual: ident.name,
        });
    }
    if ident.sequence_number != seq {
        return Err(WireError::WrongSequence {
            expected: seq,
            actual: ident.sequence_number,
        });
    }
    let response = read_result_struct(&mut input)?;
    input.read_message_end()?;
    Ok(response)
}

fn read_result_struct(input: &mut dyn TInputProtocol) -> Result<Response, WireError> {
    input.read_struct_begin()?;
    let mut response = None;
    loop {
        let field = input.read_field_begin()?;
        if field.field_type == TType::Stop {
            break;
        }
        match (field.id, field.field_type) {
            (Some(0), TType::Struct) => response = Some(Response::read_from_in_protocol(input)?),
            (_, ty) => input.skip(ty)?,
        }
        input.read_field_end()?;
    }
    input.read_struct_end()?;
    response.ok_or(WireError::MissingResponse)
}

/// A CALL message whose header has been read; the arguments are decoded on demand once the
/// method name says which struct they are.
#[derive(Debug, Clone)]
pub struct IncomingCall<'a> {
    /// The method name from the header.
    pub method: String,
    /// The sequence id to echo in the reply.
    pub seq: i32,
    body: &'a [u8],
}

impl<'a> IncomingCall<'a> {
    /// Reads the message header of a CALL.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut cursor = Cursor::new(bytes);
        let ident = {
            let mut input = TBinaryInputProtocol::new(&mut cursor, true);
            input.read_message_begin()?
        };
        if !matches!(
            ident.message_type,
            TMessageType::Call | TMessageType::OneWay
        ) {
            return Err(WireError::WrongMessageType(ident.message_type));
        }
        let pos = usize::try_from(cursor.position()).unwrap_or(bytes.len());
        Ok(IncomingCall {
            method: ident.name,
            seq: ident.sequence_number,
            body: &bytes[pos..],
        })
    }

    /// Decodes the argument struct; the message must end right after it.
    pub fn args<C: TSerializable>(&self) -> Result<C, WireError> {
        decode_struct(self.body)
    }
}

fn expect_consumed(cursor: &Cursor<&[u8]>) -> Result<(), WireError> {
    let len = cursor.get_ref().len();
    let pos = usize::try_from(cursor.position()).unwrap_or(len);
    if pos < len {
        return Err(WireError::TrailingBytes(len - pos));
    }
    Ok(())
}
