//! A readable JSON view of any Thrift value: IDL field names, enums by name, sets as arrays
//! in canonical order, unions as one-key objects, absent fields left out.
//!
//! This is the shape of the wire fixtures' `.json` files and of Aurora's client fixtures, and
//! what `render -o json`, logs and test snapshots show. It is produced by running the
//! generated `write_to_out_protocol` against an output protocol that builds a
//! [`serde_json::Value`] instead of bytes, so it always covers every field the bindings know.

use serde_json::{Map, Number, Value};
use thrift::protocol::{
    TFieldIdentifier, TListIdentifier, TMapIdentifier, TMessageIdentifier, TOutputProtocol,
    TSerializable, TSetIdentifier, TStructIdentifier,
};

use crate::enum_names::{ENUM_FIELDS, enum_value_name};

/// The JSON view of `value`.
pub fn to_json<T: TSerializable>(value: &T) -> Value {
    let mut out = JsonOutputProtocol::default();
    // The JSON builder never fails; an error would come from a bug in the bindings.
    if value.write_to_out_protocol(&mut out).is_err() {
        return Value::Null;
    }
    out.finish()
}

enum Frame {
    Struct {
        name: String,
        fields: Map<String, Value>,
        field: Option<String>,
    },
    List(Vec<Value>),
    Map {
        entries: Map<String, Value>,
        key: Option<String>,
    },
}

#[derive(Default)]
struct JsonOutputProtocol {
    stack: Vec<Frame>,
    result: Option<Value>,
}

impl JsonOutputProtocol {
    fn finish(self) -> Value {
        self.result.unwrap_or(Value::Null)
    }

    fn emit(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.result = Some(value),
            Some(Frame::Struct { fields, field, .. }) => {
                if let Some(name) = field.clone() {
                    fields.insert(name, value);
                }
            }
            Some(Frame::List(items)) => items.push(value),
            Some(Frame::Map { entries, key }) => match key.take() {
                None => {
                    *key = Some(match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                }
                Some(k) => {
                    entries.insert(k, value);
                }
            },
        }
    }

    /// The enum type of the field being written, if it holds enum values.
    fn enum_context(&self) -> Option<&'static str> {
        self.stack.iter().rev().find_map(|frame| match frame {
            Frame::Struct { name, field, .. } => Some(field.as_deref().and_then(|f| {
                ENUM_FIELDS
                    .iter()
                    .find(|(s, fl, _)| *s == name && *fl == f)
                    .map(|(_, _, e)| *e)
            })),
            _ => None,
        })?
    }

    fn end_container(&mut self) {
        if let Some(frame) = self.stack.pop() {
            let value = match frame {
                Frame::Struct { fields, .. } => Value::Object(fields),
                Frame::List(items) => Value::Array(items),
                Frame::Map { entries, .. } => Value::Object(entries),
            };
            self.emit(value);
        }
    }
}

impl TOutputProtocol for JsonOutputProtocol {
    fn write_message_begin(&mut self, _: &TMessageIdentifier) -> thrift::Result<()> {
        Ok(())
    }
    fn write_message_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn write_struct_begin(&mut self, identifier: &TStructIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::Struct {
            name: identifier.name.clone(),
            fields: Map::new(),
            field: None,
        });
        Ok(())
    }
    fn write_struct_end(&mut self) -> thrift::Result<()> {
        self.end_container();
        Ok(())
    }
    fn write_field_begin(&mut self, identifier: &TFieldIdentifier) -> thrift::Result<()> {
        if let Some(Frame::Struct { field, .. }) = self.stack.last_mut() {
            *field = identifier.name.clone();
        }
        Ok(())
    }
    fn write_field_end(&mut self) -> thrift::Result<()> {
        if let Some(Frame::Struct { field, .. }) = self.stack.last_mut() {
            *field = None;
        }
        Ok(())
    }
    fn write_field_stop(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn write_bool(&mut self, b: bool) -> thrift::Result<()> {
        self.emit(Value::Bool(b));
        Ok(())
    }
    fn write_bytes(&mut self, b: &[u8]) -> thrift::Result<()> {
        self.emit(Value::String(String::from_utf8_lossy(b).into_owned()));
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
        let value = match self.enum_context().and_then(|e| enum_value_name(e, i)) {
            Some(name) => Value::String(name.to_string()),
            None => Value::from(i),
        };
        self.emit(value);
        Ok(())
    }
    fn write_i64(&mut self, i: i64) -> thrift::Result<()> {
        self.emit(Value::from(i));
        Ok(())
    }
    fn write_double(&mut self, d: f64) -> thrift::Result<()> {
        self.emit(Number::from_f64(d).map_or(Value::Null, Value::Number));
        Ok(())
    }
    fn write_uuid(&mut self, uuid: &uuid::Uuid) -> thrift::Result<()> {
        self.emit(Value::String(uuid.to_string()));
        Ok(())
    }
    fn write_string(&mut self, s: &str) -> thrift::Result<()> {
        self.emit(Value::String(s.to_string()));
        Ok(())
    }
    fn write_list_begin(&mut self, _: &TListIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::List(Vec::new()));
        Ok(())
    }
    fn write_list_end(&mut self) -> thrift::Result<()> {
        self.end_container();
        Ok(())
    }
    fn write_set_begin(&mut self, _: &TSetIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::List(Vec::new()));
        Ok(())
    }
    fn write_set_end(&mut self) -> thrift::Result<()> {
        self.end_container();
        Ok(())
    }
    fn write_map_begin(&mut self, _: &TMapIdentifier) -> thrift::Result<()> {
        self.stack.push(Frame::Map {
            entries: Map::new(),
            key: None,
        });
        Ok(())
    }
    fn write_map_end(&mut self) -> thrift::Result<()> {
        self.end_container();
        Ok(())
    }
    fn flush(&mut self) -> thrift::Result<()> {
        Ok(())
    }
    fn write_byte(&mut self, b: u8) -> thrift::Result<()> {
        self.emit(Value::from(b));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;
    use std::collections::BTreeSet;

    #[test]
    fn enums_are_named_and_absent_fields_omitted() {
        let query = TaskQuery {
            role: Some("www-data".into()),
            statuses: Some(BTreeSet::from([
                ScheduleStatus::RUNNING,
                ScheduleStatus::PENDING,
            ])),
            ..Default::default()
        };
        assert_eq!(
            to_json(&query),
            serde_json::json!({"role": "www-data", "statuses": ["PENDING", "RUNNING"]})
        );
    }

    #[test]
    fn unions_are_one_key_objects_and_maps_objects() {
        let task = TaskConfig {
            resources: Some(BTreeSet::from([
                Resource::NumCpus(1.0.into()),
                Resource::RamMb(128),
            ])),
            task_links: Some([("http".to_string(), "x".to_string())].into()),
            container: Some(Container::Mesos(MesosContainer::default())),
            ..Default::default()
        };
        assert_eq!(
            to_json(&task),
            serde_json::json!({
                "resources": [{"numCpus": 1.0}, {"ramMb": 128}],
                "taskLinks": {"http": "x"},
                "container": {"mesos": {}}
            })
        );
    }
}
