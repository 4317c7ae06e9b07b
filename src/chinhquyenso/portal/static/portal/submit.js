// The submission form, enhanced: each document is uploaded as soon as it is chosen (type and
// size checked first, progress shown), and the form is saved as a draft while the citizen
// types. Without this script the form still works: files go with the form, "Lưu nháp" saves.
(function () {
  "use strict";
  var form = document.getElementById("form-nop");
  if (!form) return;
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var allowed = [".pdf", ".jpg", ".jpeg", ".png", ".docx"];
  var status = document.getElementById("trang-thai-nhap");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function say(text) { if (status) status.textContent = text; }

  function sizeText(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.ceil(n / 1024) + " kB";
  }

  // --- draft -------------------------------------------------------------------------
  var timer = null;
  function saveDraft() {
    var data = new FormData();
    form.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.type === "file" || el.name === "csrfmiddlewaretoken") return;
      if (el.type === "checkbox") { if (el.checked) data.append(el.name, "on"); return; }
      data.append(el.name, el.value);
    });
    fetch(form.dataset.draftUrl, {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf }
    }).then(function (r) {
      if (r.ok) say("Đã tự động lưu bản nháp lúc " + new Date().toLocaleTimeString("vi-VN") + ".");
    }).catch(function () { say("Chưa lưu được bản nháp (mất kết nối?)."); });
  }
  function later() { clearTimeout(timer); timer = setTimeout(saveDraft, 800); }
  form.addEventListener("input", later);
  form.addEventListener("change", function (e) { if (e.target.type !== "file") later(); });

  // --- uploads -----------------------------------------------------------------------
  form.querySelectorAll(".document").forEach(function (box) {
    var code = box.dataset.document;
    var input = box.querySelector("input[type=file]");
    var hidden = box.querySelector("input[type=hidden]");
    var bar = box.querySelector("progress");
    var error = box.querySelector(".error");
    var list = box.querySelector(".uploaded");
    input.addEventListener("change", function () {
      var file = input.files[0];
      if (!file) return;
      error.textContent = "";
      var name = file.name.toLowerCase();
      if (!allowed.some(function (ext) { return name.endsWith(ext); })) {
        error.textContent = "Chỉ nhận tệp PDF, JPEG, PNG hoặc DOCX.";
        input.value = ""; return;
      }
      if (file.size > maxBytes) {
        error.textContent = "Tệp " + sizeText(file.size) + " lớn hơn giới hạn " + sizeText(maxBytes) + ".";
        input.value = ""; return;
      }
      if (file.size === 0) { error.textContent = "Tệp rỗng."; input.value = ""; return; }
      var data = new FormData();
      data.append("document", code);
      data.append("file", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      bar.hidden = false; bar.value = 0;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
      });
      xhr.addEventListener("load", function () {
        var answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (ignore) { answer = {}; }
        if (xhr.status === 201) {
          bar.value = 100;
          hidden.value = hidden.value ? hidden.value + "," + answer.id : answer.id;
          var li = document.createElement("li");
          li.textContent = answer.name + " (" + sizeText(answer.size) + ") — đã tải lên";
          list.appendChild(li);
          input.value = "";
          box.classList.remove("invalid");
          saveDraft();
        } else {
          bar.hidden = true;
          error.textContent = answer.error || "Tải tệp lên không thành công.";
        }
      });
      xhr.addEventListener("error", function () {
        bar.hidden = true; error.textContent = "Mất kết nối khi tải tệp. Vui lòng thử lại.";
      });
      xhr.send(data);
    });
  });
})();
