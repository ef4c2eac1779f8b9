// aliyun-upload-vod's browser build looks for ali-oss as window['ali-oss']; ali-oss's browser build defines OSS.
window['ali-oss'] = window.OSS;
