"use strict";
const root = location.href.replace(/\/api\/docs.*$/, "");

function resolve(doc, schema) {
  while (schema && schema.$ref) {
    schema = doc.components.schemas[schema.$ref.split("/").pop()];
  }
  return schema || {};
}

function example(doc, schema, depth) {
  schema = resolve(doc, schema);
  if (depth > 4) return null;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return example(doc, schema.anyOf[0], depth + 1);
  if (schema.type === "object" || schema.properties) {
    const out = {};
    for (const name of schema.required || []) {
      out[name] = example(doc, schema.properties[name], depth + 1);
    }
    return out;
  }
  if (schema.type === "array") return [];
  if (schema.type === "integer" || schema.type === "number") return schema.minimum || 1;
  if (schema.type === "boolean") return false;
  return "";
}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function render(doc) {
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("description").textContent = doc.info.description || "";
  if (doc.components.securitySchemes) document.getElementById("auth").hidden = false;
  const container = document.getElementById("operations");
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      container.appendChild(operation(doc, path, method.toUpperCase(), op));
    }
  }
}

function operation(doc, path, method, op) {
  const box = element("details", {"class": "op", "id": op.operationId});
  const head = element("summary");
  head.appendChild(element("span", {"class": "method " + method}, method));
  head.appendChild(element("span", {"class": "path"}, path + "  "));
  head.appendChild(element("span", {"class": "muted"}, op.summary));
  box.appendChild(head);
  const body = element("div", {"class": "body"});
  const inputs = [];
  for (const param of op.parameters || []) {
    const id = op.operationId + "-" + param.in + "-" + param.name;
    body.appendChild(element("label", {"for": id},
      param.in + " " + param.name + (param.required ? " (required)" : "") + ": " + (param.description || "")));
    const input = element("input", {"id": id, "name": param.name});
    inputs.push([param, input]);
    body.appendChild(input);
  }
  let textarea = null;
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    body.appendChild(element("label", {"for": op.operationId + "-body"}, "JSON body (" + schema.$ref.split("/").pop() + ")"));
    textarea = element("textarea", {"id": op.operationId + "-body"});
    textarea.value = JSON.stringify(example(doc, schema, 0), null, 2);
    body.appendChild(textarea);
  }
  const codes = Object.keys(op.responses).join(", ");
  body.appendChild(element("p", {"class": "muted"}, "Answers: " + codes));
  const send = element("button", {"type": "button"}, "Send");
  const result = element("pre", {"class": "result", "hidden": ""});
  send.addEventListener("click", () => sendRequest(path, method, inputs, textarea, result));
  body.appendChild(send);
  body.appendChild(result);
  box.appendChild(body);
  return box;
}

async function sendRequest(path, method, inputs, textarea, result) {
  let url = path;
  const query = new URLSearchParams();
  const headers = {};
  for (const [param, input] of inputs) {
    const value = input.value.trim();
    if (!value) continue;
    if (param.in === "path") url = url.replace("{" + param.name + "}", encodeURIComponent(value));
    else if (param.in === "query") query.append(param.name, value);
    else if (param.in === "header") headers[param.name] = value;
  }
  const authorization = document.getElementById("authorization").value.trim();
  if (authorization) headers["Authorization"] = authorization;
  const options = {method: method, headers: headers};
  if (textarea) {
    headers["Content-Type"] = "application/json";
    options.body = textarea.value;
  }
  const target = root + url + (query.toString() ? "?" + query : "");
  result.hidden = false;
  result.className = "result";
  result.textContent = method + " " + target + "\n...";
  try {
    const response = await fetch(target, options);
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (ignored) { /* not JSON */ }
    const location = response.headers.get("Location");
    result.className = "result " + (response.ok ? "status-ok" : "status-err");
    result.textContent = method + " " + target + "\n" + response.status + " " + response.statusText +
      (location ? "\nLocation: " + location : "") + "\n\n" + shown;
  } catch (error) {
    result.className = "result status-err";
    result.textContent = method + " " + target + "\nfailed: " + error;
  }
}

fetch("openapi.json")
  .then((response) => response.json())
  .then(render)
  .catch((error) => { document.getElementById("description").textContent = "Could not load the document: " + error; });
