import { registerKernelFixes } from '@cnnviz/core';
console.log(typeof registerKernelFixes, import.meta.resolve('@cnnviz/core'));
