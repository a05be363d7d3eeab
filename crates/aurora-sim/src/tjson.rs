//! Thrift's TJSON protocol (`TJSONProtocol`), which the scheduler speaks on `/api` for every
//! content type but `application/vnd.apache.thrift.binary` (reference §2.2), e.g.
//! `[1,"createJob",1,0,{"1":{"rec":{"5":{"i32":0},…}}}]`. The Apache Rust crate has no TJSON,
//! so this module has just enough for a server: reading a CALL (the document is parsed with
//! serde_json, then replayed as the token stream the generated readers expect) and writing a
//! REPLY or an EXCEPTION.
//!
//! Format (libthrift `TJSONProtocol`): a message is `[1, name, type, seqid, struct]`; a struct
//! is an object keyed by field id whose values are `{typeName: value}` with type names `tf`,
//! `i8`, `i16`, `i32`, `i64`, `dbl`, `str`, `rec`, `lst`, `set`, `map`; bools are 1/0; a list
//! or set is `[elemType, size, e…]`; a map is `[keyType, valueType, size, {key: value}]` with
//! keys always written as JSON strings.

use std::collections::VecDeque;

use serde_json::{Map, Number, Value};
use thrift::protocol::{
    TFieldIdentifier, TInputProtocol, TListIdentifier, TMapIdentifier, TMessageIdentifier,
    TMessageType, TOutputProtocol, TSerializable, TSetIdentifier, TStructIdentifier, TType,
};
use thrift::{ProtocolErrorKind, new_protocol_error};

const MAX_DEPTH: usize = 64;

fn bad(msg: impl Into<String>) -> thrift::Error {
    new_protocol_error(ProtocolErrorKind::InvalidData, msg)
}

fn type_name(t: TType) -> &'static str {
    match t {
        TType::Bool => "tf",
        TType::I08 => "i8",
        TType::I16 => "i16",
        TType::I32 => "i32",
        TType::I64 => "i64",
        TType::Double => "dbl",
        TType::String | TType::Utf7 => "str",
        TType::Struct => "rec",
        TType::List => "lst",
        TType::Set => "set",
        TType::Map => "map",
        _ => "str",
    }
}

fn type_of(name: &str) -> Option<TType> {
    Some(match name {
        "tf" => TType::Bool,
        "i8" => TType::I08,
        "i16" => TType::I16,
        "i32" => TType::I32,
        "i64" => TType::I64,
        "dbl" => TType::Double,
        "str" => TType::String,
        "rec" => TType::Struct,
        "lst" => TType::List,
        "set" => TType::Set,
        "map" => TType::Map,
        _ => return None,
    })
}

/// One step of what a generated reader consumes.
#[derive(Debug, Clone)]
enum Tok {
    StructBegin,
    StructEnd,
    Field(i16, TType),
    FieldEnd,
    Stop,
    ListBegin(TType, i32),
    SetBegin(TType, i32),
    MapBegin(TType, TType, i32),
    End,
    Int(i64),
    Double(f64),
    Str(String),
}

fn int_of(v: &Value) -> Result<i64, thrift::Error> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| bad("not an integer")),
        // Map keys are strings in TJSON.
        Value::String(s) => s.parse().map_err(|_| bad("not an integer")),
        _ => Err(bad("not an integer")),
    }
}

fn value_tokens(
    t: TType,
    v: &Value,
    out: &mut Vec<Tok>,
    depth: usize,
) -> Result<(), thrift::Error> {
    if depth > MAX_DEPTH {
        return Err(bad("nesting too deep"));
    }
    match t {
        TType::Bool | TType::I08 | TType::I16 | TType::I32 | TType::I64 => {
            out.push(Tok::Int(match v {
                Value::Bool(b) => i64::from(*b),
                other => int_of(other)?,
            }));
        }
        TType::Double => out.push(Tok::Double(match v {
            Value::Number(n) => n.as_f64().ok_or_else(|| bad("not a number"))?,
            Value::String(s) => match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => other.parse().map_err(|_| bad("not a number"))?,
            },
            _ => return Err(bad("not a number")),
        })),
        TType::String | TType::Utf7 => match v {
            Value::String(s) => out.push(Tok::Str(s.clone())),
            _ => return Err(bad("not a string")),
        },
        TType::Struct => struct_tokens(v, out, depth + 1)?,
        TType::List | TType::Set => {
            let arr = v.as_array().ok_or_else(|| bad("not a list"))?;
            let elem = arr
                .first()
                .and_then(Value::as_str)
                .and_then(type_of)
                .ok_or_else(|| bad("bad element type"))?;
            let size = arr.get(1).map(int_of).transpose()?.unwrap_or(0);
            let items = arr.get(2..).unwrap_or(&[]);
            if usize::try_from(size).ok() != Some(items.len()) {
                return Err(bad("list size mismatch"));
            }
            let size = i32::try_from(size).map_err(|_| bad("list too long"))?;
            out.push(if t == TType::List {
                Tok::ListBegin(elem, size)
            } else {
                Tok::SetBegin(elem, size)
            });
            for item in items {
                value_tokens(elem, item, out, depth + 1)?;
            }
            out.push(Tok::End);
        }
        TType::Map => {
            let arr = v.as_array().ok_or_else(|| bad("not a map"))?;
            let kt = arr
                .first()
                .and_then(Value::as_str)
                .and_then(type_of)
                .ok_or_else(|| bad("bad key type"))?;
            let vt = arr
                .get(1)
                .and_then(Value::as_str)
                .and_then(type_of)
                .ok_or_else(|| bad("bad value type"))?;
            let size = arr.get(2).map(int_of).transpose()?.unwrap_or(0);
            let empty = Map::new();
            let entries = match arr.get(3) {
                Some(Value::Object(o)) => o,
                None => &empty,
                _ => return Err(bad("bad map entries")),
            };
            if usize::try_from(size).ok() != Some(entries.len()) {
                return Err(bad("map size mismatch"));
            }
            let size = i32::try_from(size).map_err(|_| bad("map too long"))?;
            out.push(Tok::MapBegin(kt, vt, size));
            for (k, val) in entries {
                let key = Value::String(k.clone());
                value_tokens(kt, &key, out, depth + 1)?;
                value_tokens(vt, val, out, depth + 1)?;
            }
            out.push(Tok::End);
        }
        _ => return Err(bad("unsupported type")),
    }
    Ok(())
}

fn struct_tokens(v: &Value, out: &mut Vec<Tok>, depth: usize) -> Result<(), thrift::Error> {
    let obj = v.as_object().ok_or_else(|| bad("not a struct"))?;
    out.push(Tok::StructBegin);
    for (id, typed) in obj {
        let id: i16 = id.parse().map_err(|_| bad("bad field id"))?;
        let typed = typed.as_object().ok_or_else(|| bad("bad field value"))?;
        let (name, value) = typed
            .iter()
            .next()
            .ok_or_else(|| bad("empty field value"))?;
        let t = type_of(name).ok_or_else(|| bad("bad field type"))?;
        out.push(Tok::Field(id, t));
        value_tokens(t, value, out, depth)?;
        out.push(Tok::FieldEnd);
    }
    out.push(Tok::Stop);
    out.push(Tok::StructEnd);
    Ok(())
}

/// A TJSON CALL: its header and its arguments, ready to decode.
#[derive(Debug, Clone)]
pub struct JsonCall {
    /// Method name.
    pub method: String,
    /// Sequence id.
    pub seq: i32,
    args: Value,
}

impl JsonCall {
    /// Reads a TJSON message; only CALL and ONEWAY are accepted.
    pub fn parse(body: &[u8]) -> Result<JsonCall, thrift::Error> {
        let v: Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
        let arr = v.as_array().ok_or_else(|| bad("not a TJSON message"))?;
        if arr.first().and_then(Value::as_i64) != Some(1) {
            return Err(bad("unsupported TJSON version"));
        }
        let method = arr
            .get(1)
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no method name"))?
            .to_string();
        let kind = arr.get(2).and_then(Value::as_i64).unwrap_or(0);
        if kind != 1 && kind != 4 {
            return Err(bad("not a CALL"));
        }
        let seq = arr
            .get(3)
            .and_then(Value::as_i64)
            .and_then(|s| i32::try_from(s).ok())
            .ok_or_else(|| bad("no sequence id"))?;
        let args = arr.get(4).cloned().unwrap_or(Value::Object(Map::new()));
        Ok(JsonCall { method, seq, args })
    }

    /// Decodes the argument struct.
    pub fn args<C: TSerializable>(&self) -> Result<C, thrift::Error> {
        let mut toks = Vec::new();
        struct_tokens(&self.args, &mut toks, 0)?;
        let mut input = JsonIn { toks: toks.into() };
        C::read_from_in_protocol(&mut input)
    }
}

struct JsonIn {
    toks: VecDeque<Tok>,
}

impl JsonIn {
    fn next(&mut self) -> Result<Tok, thrift::Error> {
        self.toks
            .pop_front()
            .ok_or_else(|| bad("unexpected end of message"))
    }
    fn int(&mut self) -> Result<i64, thrift::Error> {
        match self.next()? {
            Tok::Int(i) => Ok(i),
            _ => Err(bad("expected an integer")),
        }
    }
    fn end(&mut self) -> Result<(), thrift::Error> {
        match self.next()? {
            Tok::End => Ok(()),
            _ => Err(bad("expected the end of a container")),
        }
    }
}

impl TInputProtocol for JsonIn {
    fn read_message_begin(&mut self) -> thrift::Result<TMessageIdentifier> {
        Err(bad("no message header here"))
    }
    fn read_message_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn read_struct_begin(&mut self) -> thrift::Result<Option<TStructIdentifier>> {
        match self.next()? {
            Tok::StructBegin => Ok(None),
            _ => Err(bad("expected a struct")),
        }
    }
    fn read_struct_end(&mut self) -> thrift::Result<()> {
        match self.next()? {
            Tok::StructEnd => Ok(()),
            _ => Err(bad("expected the end of a struct")),
        }
    }
    fn read_field_begin(&mut self) -> thrift::Result<TFieldIdentifier> {
        match self.next()? {
            Tok::Field(id, t) => Ok(TFieldIdentifier::new::<Option<String>, String, i16>(
                None, t, id,
            )),
            Tok::Stop => Ok(
                TFieldIdentifier::new::<Option<String>, String, Option<i16>>(
                    None,
                    TType::Stop,
                    None,
                ),
            ),
            _ => Err(bad("expected a field")),
        }
    }
    fn read_field_end(&mut self) -> thrift::Result<()> {
        match self.next()? {
            Tok::FieldEnd => Ok(()),
            _ => Err(bad("expected the end of a field")),
        }
    }
    fn read_bool(&mut self) -> thrift::Result<bool> {
        Ok(self.int()? != 0)
    }
    fn read_bytes(&mut self) -> thrift::Result<Vec<u8>> {
        use base64::Engine;
        match self.next()? {
            Tok::Str(s) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| bad(e.to_string())),
            _ => Err(bad("expected binary")),
        }
    }
    fn read_i8(&mut self) -> thrift::Result<i8> {
        i8::try_from(self.int()?).map_err(|_| bad("i8 out of range"))
    }
    fn read_i16(&mut self) -> thrift::Result<i16> {
        i16::try_from(self.int()?).map_err(|_| bad("i16 out of range"))
    }
    fn read_i32(&mut self) -> thrift::Result<i32> {
        i32::try_from(self.int()?).map_err(|_| bad("i32 out of range"))
    }
    fn read_i64(&mut self) -> thrift::Result<i64> {
        self.int()
    }
    fn read_double(&mut self) -> thrift::Result<f64> {
        match self.next()? {
            Tok::Double(d) => Ok(d),
            Tok::Int(i) => Ok(i as f64),
            _ => Err(bad("expected a double")),
        }
    }
    fn read_uuid(&mut self) -> thrift::Result<uuid::Uuid> {
        match self.next()? {
            Tok::Str(s) => uuid::Uuid::parse_str(&s).map_err(|e| bad(e.to_string())),
            _ => Err(bad("expected a uuid")),
        }
    }
    fn read_string(&mut self) -> thrift::Result<String> {
        match self.next()? {
            Tok::Str(s) => Ok(s),
            _ => Err(bad("expected a string")),
        }
    }
    fn read_list_begin(&mut self) -> thrift::Result<TListIdentifier> {
        match self.next()? {
            Tok::ListBegin(t, n) => Ok(TListIdentifier::new(t, n)),
            _ => Err(bad("expected a list")),
        }
    }
    fn read_list_end(&mut self) -> thrift::Result<()> {
        self.end()
    }
    fn read_set_begin(&mut self) -> thrift::Result<TSetIdentifier> {
        match self.next()? {
            Tok::SetBegin(t, n) => Ok(TSetIdentifier::new(t, n)),
            _ => Err(bad("expected a set")),
        }
    }
    fn read_set_end(&mut self) -> thrift::Result<()> {
        self.end()
    }
    fn read_map_begin(&mut self) -> thrift::Result<TMapIdentifier> {
        match self.next()? {
            Tok::MapBegin(k, v, n) => Ok(TMapIdentifier::new(k, v, n)),
            _ => Err(bad("expected a map")),
        }
    }
    fn read_map_end(&mut self) -> thrift::Result<()> {
        self.end()
    }
    fn read_byte(&mut self) -> thrift::Result<u8> {
        Err(bad("raw bytes are not part of TJSON"))
    }
}

/// A container being written.
enum Frame {
    Struct(Map<String, Value>),
    Field(i16, TType),
    List(TType, Vec<Value>),
    Map(TType, TType, Map<String, Value>, Option<String>),
}

/// Writes one TJSON message.
#[derive(Default)]
struct JsonOut {
    header: Option<(String, i32, i32)>,
    stack: Vec<Frame>,
    body: Option<Value>,
}

fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl JsonOut {
    fn emit(&mut self, v: Value) {
        let v = match self.stack.last() {
            Some(Frame::Field(_, _)) => {
                let Some(Frame::Field(id, t)) = self.stack.pop() else {
                    return;
                };
                let mut typed = Map::new();
                typed.insert(type_name(t).to_string(), v);
                if let Some(Frame::Struct(obj)) = self.stack.last_mut() {
                    obj.insert(id.to_string(), Value::Object(typed));
                }
                return;
            }
            _ => v,
        };
        match self.stack.last_mut() {
            Some(Frame::List(_, items)) => items.push(v),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                None => *pending = Some(key_string(&v)),
                Some(k) => {
                    entries.insert(k, v);
                }
            },
            _ => self.body = Some(v),
        }
    }

    fn finish(self) -> Vec<u8> {
        let (name, kind, seq) = self.header.unwrap_or_default();
        let doc = Value::Array(vec![
            Value::from(1),
            Value::from(name),
            Value::from(kind),
            Value::from(seq),
            self.body.unwrap_or(Value::Object(Map::new())),
        ]);
        doc.to_string().into_bytes()
    }
}

impl TOutputProtocol for JsonOut {
    fn write_message_begin(&mut self, id: &TMessageIdentifier) -> thrift::Result<()> {
        let kind = match id.message_type {
            TMessageType::Call => 1,
            TMessageType::Reply => 2,
            TMessageType::Exception => 3,
            TMessageType::OneWay => 4,
        };
        self.header = Some((id.name.clone(), kind, id.sequence_number));
        Ok(())
    }
    fn write_message_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn write_struct_begin(&mut self, _: &TStructIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::Struct(Map::new()));
        Ok(())
    }
    fn write_struct_end(&mut self) -> thrift::Result<()> {
        match self.stack.pop() {
            Some(Frame::Struct(obj)) => {
                self.emit(Value::Object(obj));
                Ok(())
            }
            _ => Err(bad("unbalanced struct")),
        }
    }
    fn write_field_begin(&mut self, id: &TFieldIdentifier) -> thrift::Result<()> {
        self.stack
            .push(Frame::Field(id.id.unwrap_or(0), id.field_type));
        Ok(())
    }
    fn write_field_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn write_field_stop(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn write_bool(&mut self, b: bool) -> thrift::Result<()> {
        self.emit(Value::from(i32::from(b)));
        Ok(())
    }
    fn write_bytes(&mut self, b: &[u8]) -> thrift::Result<()> {
        use base64::Engine;
        self.emit(Value::from(
            base64::engine::general_purpose::STANDARD.encode(b),
        ));
        Ok(())
    }
    fn write_i8(&mut self, i: i8) -> thrift::Result<()> {
        self.emit(Value::from(i));
        Ok(())
    }
    fn write_i16(&mut self, i: i16) -> thrift::Result<()> {
        self.emit(Value::from(i));
        Ok(())
    }
    fn write_i32(&mut self, i: i32) -> thrift::Result<()> {
        self.emit(Value::from(i));
        Ok(())
    }
    fn write_i64(&mut self, i: i64) -> thrift::Result<()> {
        self.emit(Value::from(i));
        Ok(())
    }
    fn write_double(&mut self, d: f64) -> thrift::Result<()> {
        let v = match Number::from_f64(d) {
            Some(n) => Value::Number(n),
            None if d.is_nan() => Value::from("NaN"),
            None if d > 0.0 => Value::from("Infinity"),
            None => Value::from("-Infinity"),
        };
        self.emit(v);
        Ok(())
    }
    fn write_uuid(&mut self, uuid: &uuid::Uuid) -> thrift::Result<()> {
        self.emit(Value::from(uuid.to_string()));
        Ok(())
    }
    fn write_string(&mut self, s: &str) -> thrift::Result<()> {
        self.emit(Value::from(s));
        Ok(())
    }
    fn write_list_begin(&mut self, id: &TListIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::List(id.element_type, Vec::new()));
        Ok(())
    }
    fn write_list_end(&mut self) -> thrift::Result<()> {
        self.close_list()
    }
    fn write_set_begin(&mut self, id: &TSetIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::List(id.element_type, Vec::new()));
        Ok(())
    }
    fn write_set_end(&mut self) -> thrift::Result<()> {
        self.close_list()
    }
    fn write_map_begin(&mut self, id: &TMapIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::Map(
            id.key_type.unwrap_or(TType::String),
            id.value_type.unwrap_or(TType::String),
            Map::new(),
            None,
        ));
        Ok(())
    }
    fn write_map_end(&mut self) -> thrift::Result<()> {
        match self.stack.pop() {
            Some(Frame::Map(k, v, entries, _)) => {
                let n = entries.len();
                self.emit(Value::Array(vec![
                    Value::from(type_name(k)),
                    Value::from(type_name(v)),
                    Value::from(n),
                    Value::Object(entries),
                ]));
                Ok(())
            }
            _ => Err(bad("unbalanced map")),
        }
    }
    fn flush(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn write_byte(&mut self, _: u8) -> thrift::Result<()> {
        Err(bad("raw bytes are not part of TJSON"))
    }
}

impl JsonOut {
    fn close_list(&mut self) -> thrift::Result<()> {
        match self.stack.pop() {
            Some(Frame::List(t, items)) => {
                let mut arr = vec![Value::from(type_name(t)), Value::from(items.len())];
                arr.extend(items);
                self.emit(Value::Array(arr));
                Ok(())
            }
            _ => Err(bad("unbalanced list")),
        }
    }
}

/// A TJSON CALL (what a TJSON client such as gorealis in JSON mode sends).
pub fn encode_call<C: TSerializable>(method: &str, seq: i32, args: &C) -> Vec<u8> {
    let mut out = JsonOut::default();
    let _ = out
        .write_message_begin(&TMessageIdentifier::new(method, TMessageType::Call, seq))
        .and_then(|()| args.write_to_out_protocol(&mut out));
    out.finish()
}

/// A TJSON REPLY carrying `response` (field 0 of the result struct).
pub fn encode_reply(method: &str, seq: i32, response: &aurora_thrift::types::Response) -> Vec<u8> {
    let mut out = JsonOut::default();
    let _ = (|| -> thrift::Result<()> {
        out.write_message_begin(&TMessageIdentifier::new(method, TMessageType::Reply, seq))?;
        out.write_struct_begin(&TStructIdentifier::new(format!("{method}_result")))?;
        out.write_field_begin(&TFieldIdentifier::new("success", TType::Struct, 0))?;
        response.write_to_out_protocol(&mut out)?;
        out.write_field_end()?;
        out.write_field_stop()?;
        out.write_struct_end()?;
        out.write_message_end()
    })();
    out.finish()
}

/// A TJSON EXCEPTION (TApplicationException).
pub fn encode_exception(
    method: &str,
    seq: i32,
    kind: thrift::ApplicationErrorKind,
    message: &str,
) -> Vec<u8> {
    let mut out = JsonOut::default();
    let error = thrift::ApplicationError::new(kind, message.to_string());
    let _ = out
        .write_message_begin(&TMessageIdentifier::new(
            method,
            TMessageType::Exception,
            seq,
        ))
        .and_then(|()| thrift::Error::write_application_error_to_out_protocol(&error, &mut out));
    out.finish()
}

#[cfg(test)]
mod tests {
    use aurora_thrift::types::{JobKey, KillTasksCall, Response, ResponseCode, ResponseDetail};

    use super::*;

    #[test]
    fn reads_the_reference_example() {
        // The createJob call shape from reference §2.2, abbreviated to a killTasks call.
        let body = br#"[1,"killTasks",1,7,{"4":{"rec":{"1":{"str":"www-data"},"2":{"str":"prod"},"3":{"str":"hello"}}},"5":{"set":["i32",2,1,0]},"6":{"str":"bye"}}]"#;
        let call = JsonCall::parse(body).expect("parses");
        assert_eq!((call.method.as_str(), call.seq), ("killTasks", 7));
        let args: KillTasksCall = call.args().expect("decodes");
        assert_eq!(
            args.job,
            Some(JobKey {
                role: Some("www-data".to_string()),
                environment: Some("prod".to_string()),
                name: Some("hello".to_string()),
            })
        );
        assert_eq!(args.instances, Some([0, 1].into_iter().collect()));
        assert_eq!(args.message.as_deref(), Some("bye"));
    }

    #[test]
    fn writes_the_reference_reply_shape() {
        let r = Response {
            response_code: Some(ResponseCode::INVALID_REQUEST),
            result: None,
            server_info: Some(aurora_thrift::types::ServerInfo {
                cluster_name: Some("devcluster".to_string()),
                stats_url_prefix: Some(String::new()),
            }),
            details: Some(vec![ResponseDetail {
                message: Some("Job www-data/prod/hello already exists".to_string()),
            }]),
        };
        let text = String::from_utf8(encode_reply("createJob", 0, &r)).expect("utf-8");
        // Reference §2.4's TJSON example of this reply.
        assert_eq!(
            text,
            r#"[1,"createJob",2,0,{"0":{"rec":{"1":{"i32":0},"5":{"rec":{"1":{"str":"devcluster"},"3":{"str":""}}},"6":{"lst":["rec",1,{"1":{"str":"Job www-data/prod/hello already exists"}}]}}}}]"#
        );
    }

    #[test]
    fn calls_round_trip() {
        let args = KillTasksCall {
            job: Some(JobKey {
                role: Some("r".to_string()),
                environment: Some("prod".to_string()),
                name: Some("n".to_string()),
            }),
            instances: Some([3, 1].into_iter().collect()),
            message: None,
        };
        let body = encode_call("killTasks", 9, &args);
        let call = JsonCall::parse(&body).expect("parses");
        assert_eq!(call.args::<KillTasksCall>().expect("decodes"), args);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for body in [
            &b"[]"[..],
            b"{}",
            b"[1,\"x\",1,0,{\"1\":{\"lst\":[\"i32\",5,1]}}]",
            b"[1,\"x\",1,0,{\"1\":{\"nope\":1}}]",
            b"not json",
        ] {
            let parsed = JsonCall::parse(body);
            if let Ok(call) = parsed {
                assert!(call.args::<KillTasksCall>().is_err());
            }
        }
    }
}
